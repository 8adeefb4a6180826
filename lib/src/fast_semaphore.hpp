// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// A semaphore's operations on its fast page. A unit taken with return_on_exit records
// the taking thread's token (this connection's owner id and the thread's slot), so that
// ipchubd gives it back if the connection goes; without return_on_exit the unit is
// consumed (ABSENT) and a release posts. Several units are taken all at once or not at
// all: a wait for n units sleeps until n are free, so two waiters of n units never
// hold part of them each and wait for the rest.

#include <atomic>
#include <cstdint>
#include <vector>

#include "fast/semaphore.hpp"
#include "fast_object.hpp"

namespace ipchub::detail {

// Units held on one page, as a guard keeps them.
struct FastUnits {
	FastPage *page = nullptr;
	// The word each unit took (its token: the thread's, or ABSENT when consumed).
	uint32_t token = 0;
	// The units' indices: one without an allocation, more in a vector.
	uint32_t count = 0;
	uint32_t first = 0;
	std::vector<uint32_t> rest;
	// A unit taken had been given back from a holder that died (as EOWNERDEAD).
	bool ownerDied = false;
};

class FastSemaphore : public FastObject
{
public:
	FastSemaphore(std::shared_ptr<Session> session, std::weak_ptr<void> owner,
		      sdbus::IProxy &proxy)
		: FastObject(std::move(session), std::move(owner), proxy, FastKind::Semaphore)
	{
	}

	// Takes n units within timeout (0 tries once: WouldBlock; kForever); never a part
	// of them. The clock is read only when the units are not free at once.
	Result<FastUnits> acquire(uint32_t n, std::chrono::microseconds timeout);
	// Gives back the units a guard holds; NotHeld when the hold was lost (the
	// connection or ipchubd went since).
	Result<void> release(const FastUnits &units);
	// Semaphore::release(n): this connection's units first, then posts;
	// LimitExceeded past max. busHeld: units ipchubd holds for this connection from a
	// bus-path wait, which only a bus Release gives back (returned: how many of them
	// to release that way).
	Result<uint32_t> releaseCount(uint32_t n);

	// Units granted through the bus path (acquireAsync's wait): ipchubd holds them
	// under this connection's slot 0.
	std::atomic<uint32_t> busHeld{0};
	bool returnsOnExit() const { return returnOnExit_; }
	// Set once, before the object is handed out (the ReturnOnExit property).
	void setReturnsOnExit(bool returnOnExit) { returnOnExit_ = returnOnExit; }

private:
	Result<FastUnits> acquireOn(FastPage *page, uint32_t n, const fast::Deadline &slice,
				    uint32_t token);
	Result<FastUnits> acquireMany(FastPage *page, uint32_t n, const fast::Deadline &slice,
				      uint32_t token);

	bool returnOnExit_ = true;
};

} // namespace ipchub::detail
