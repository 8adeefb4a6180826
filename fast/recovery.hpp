// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What ipchubd does to a page when a connection that attached to it is gone: every word
// that records the dead owner id is marked DIED (a lock word keeps its WAITERS bit), the
// waiter count of its attach slot is taken out of nwait, and every sleeper is woken. All
// of them, not one: a waiter woken by the last release may have been killed before it
// retried, and the others would sleep on with a free word.
//
// The page is the clients' to write. The sizes come from the caller (ipchubd's own
// table), never from the page; every loop runs a bounded number of times; a scribbled
// page costs that object its exclusion, never ipchubd a hang.

#include <cstdint>

#include "layout.hpp"

namespace ipchub::fast {

struct Recovered {
	// Exclusive lock words, reader slots and units taken back.
	uint32_t locks = 0;
	uint32_t readers = 0;
	uint32_t units = 0;
	// Waiters of the dead attach slot taken out of nwait.
	uint32_t waiters = 0;
};

Recovered recoverLock(const LockView &lock, uint32_t deadOwner);
// attach: the dead connection's attach slot, from ipchubd's table; out of range
// (ipchubd had given it none) leaves the waiter counts alone.
Recovered recoverSemaphore(const SemaphoreView &sem, uint32_t deadOwner, uint32_t attach);

} // namespace ipchub::fast
