// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Acquire and release on a fast semaphore's page. Each unit word records its holder, so
// taking a unit and recording who holds it is one CAS: nothing is left to repair when a
// holder dies between two writes. A waiter counts itself in nwait (which a releaser
// reads to skip the wake-up when nobody waits) and in its attach slot's count (which
// recovery subtracts from nwait when that connection dies), then sleeps on seq, which a
// releaser bumps before waking one sleeper.

#include "error.hpp"
#include "futex.hpp"
#include "layout.hpp"
#include "lock.hpp"

namespace ipchub::fast {

struct Unit {
	// Which unit word the caller holds: pass it to release().
	uint32_t index;
	// OwnerDied: recovery gave this unit back from a dead holder.
	Acquired state;
};

// What a thread brings to acquire(): its token, its connection's attach slot, and where
// it last found a free unit (kept per thread, so threads start their scans apart).
struct Holder {
	uint32_t token;
	uint32_t attach;
	uint32_t hint = 0;
};

namespace detail {
Result<Unit> acquireSlow(const SemaphoreView &sem, Holder &holder, const Deadline &deadline);
void wakeOne(const SemaphoreView &sem);
} // namespace detail

// Takes one unit. Errors: WouldBlock (Deadline::none()), Timeout, NotHeld (an attach
// slot out of range).
inline Result<Unit> acquire(const SemaphoreView &sem, Holder &holder, const Deadline &deadline)
{
	if (holder.hint < sem.units()) {
		Word &unit = sem.unit(holder.hint);
		uint32_t expected = 0;
		if (unit.compare_exchange_strong(expected, holder.token, std::memory_order_acquire,
						 std::memory_order_relaxed))
			return Unit{holder.hint, Acquired::Clean};
	}
	return detail::acquireSlow(sem, holder, deadline);
}

// Gives back the unit acquire() returned. NotHeld for an index out of range, TakenBack
// when the unit no longer records the token.
inline Result<void> release(const SemaphoreView &sem, uint32_t index, uint32_t token)
{
	if (index >= sem.units())
		return fail(Errc::NotHeld);
	uint32_t expected = token;
	// seq_cst: the free unit must be visible before nwait is read, or a waiter that
	// counted itself after our read could miss both the unit and the wake-up.
	if (!sem.unit(index).compare_exchange_strong(expected, 0, std::memory_order_seq_cst))
		return fail(Errc::TakenBack);
	if (sem.nwait().load(std::memory_order_seq_cst) != 0)
		detail::wakeOne(sem);
	return {};
}

// A semaphore that consumes its units (return_on_exit false, a POSIX semaphore's use)
// acquires with Holder::token = kAbsent: the unit it takes is no longer there, and no
// holder is recorded that recovery could give it back from.

// A new page: units initial..units()-1 are ABSENT, so the value starts at initial.
void initUnits(const SemaphoreView &sem, uint32_t initial);

// Makes one ABSENT unit free and wakes a waiter: a release of a unit the caller does
// not hold (a post). Exhausted when no unit is ABSENT: the value is at max. Bounded by
// units().
Result<void> post(const SemaphoreView &sem);

// Free units: a snapshot, for properties and tests.
uint32_t freeUnits(const SemaphoreView &sem);
// ABSENT units: max minus the value and the units held, a snapshot.
uint32_t absentUnits(const SemaphoreView &sem);

} // namespace ipchub::fast
