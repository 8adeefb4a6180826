// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// A lock's operations on its fast page, under the calling thread's token: two threads
// of the process exclude each other as two processes do. Every grant takes the next
// fencing token from the page's counter, which ipchubd's bus-path grants share.

#include <chrono>
#include <cstdint>

#include "fast/lock.hpp"
#include "fast_object.hpp"
#include "ipchub/lock_mode.hpp"

namespace ipchub::detail {

// One grant on a page, as a guard keeps it.
struct FastGrant {
	FastPage *page = nullptr;
	uint32_t token = 0;
	LockMode mode = LockMode::Exclusive;
	uint64_t fencingToken = 0;
	// The previous holder died holding the lock (as EOWNERDEAD).
	bool ownerDied = false;
};

class FastLock : public FastObject
{
public:
	FastLock(std::shared_ptr<Session> session, std::weak_ptr<void> owner, sdbus::IProxy &proxy)
		: FastObject(std::move(session), std::move(owner), proxy, FastKind::Lock)
	{
	}

	// Takes the lock in mode within timeout (0 tries once: WouldBlock; kForever). The
	// clock is read only when the lock is not free at once.
	Result<FastGrant> acquire(LockMode mode, std::chrono::microseconds timeout);
	// Ends a grant; NotHeld when it was lost (the connection or ipchubd went since).
	Result<void> release(const FastGrant &grant);
};

} // namespace ipchub::detail
