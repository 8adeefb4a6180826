// SPDX-License-Identifier: LGPL-2.1-or-later
#include "semaphore.hpp"

#include <optional>

namespace ipchub::fast {

namespace {

std::optional<Unit> tryTake(const SemaphoreView &sem, Holder &holder)
{
	const uint32_t n = sem.units();
	const uint32_t start = holder.hint < n ? holder.hint : 0;
	for (uint32_t i = 0; i < n; ++i) {
		const uint32_t index = (start + i) % n;
		Word &unit = sem.unit(index);
		uint32_t value = unit.load(std::memory_order_relaxed);
		if (!isFreeSlot(value))
			continue;
		if (unit.compare_exchange_strong(value, holder.token, std::memory_order_seq_cst)) {
			holder.hint = index;
			return Unit{index, value == kDied ? Acquired::OwnerDied : Acquired::Clean};
		}
	}
	return std::nullopt;
}

// Never below 0: recovery may already have subtracted a count a live waiter gives
// back, or a client of the page may have written anything there.
void decrementClamped(Word &count)
{
	uint32_t value = count.load(std::memory_order_relaxed);
	while (value != 0 &&
	       !count.compare_exchange_weak(value, value - 1, std::memory_order_seq_cst))
		;
}

} // namespace

namespace detail {

Result<Unit> acquireSlow(const SemaphoreView &sem, Holder &holder, const Deadline &deadline)
{
	if (holder.attach >= sem.attachSlots())
		return fail(Errc::NotHeld);
	if (auto unit = tryTake(sem, holder))
		return *unit;
	if (deadline.isNone())
		return fail(Errc::WouldBlock);

	sem.nwait().fetch_add(1, std::memory_order_seq_cst);
	sem.waiters(holder.attach).fetch_add(1, std::memory_order_seq_cst);
	Result<Unit> outcome = fail(Errc::Timeout);
	for (;;) {
		// seq is read before the rescan: a release after the scan bumps it, and the
		// sleep below returns at once.
		const uint32_t seq = sem.seq().load(std::memory_order_seq_cst);
		if (auto unit = tryTake(sem, holder)) {
			outcome = *unit;
			break;
		}
		if (futexWait(sem.seq(), seq, deadline) == WaitOutcome::TimedOut) {
			if (auto unit = tryTake(sem, holder))
				outcome = *unit;
			break;
		}
	}
	decrementClamped(sem.waiters(holder.attach));
	decrementClamped(sem.nwait());
	return outcome;
}

void wakeOne(const SemaphoreView &sem)
{
	sem.seq().fetch_add(1, std::memory_order_seq_cst);
	futexWake(sem.seq(), 1);
}

} // namespace detail

void initUnits(const SemaphoreView &sem, uint32_t initial)
{
	for (uint32_t i = initial; i < sem.units(); ++i)
		sem.unit(i).store(kAbsent, std::memory_order_relaxed);
	std::atomic_thread_fence(std::memory_order_release);
}

Result<void> post(const SemaphoreView &sem)
{
	for (uint32_t i = 0; i < sem.units(); ++i) {
		uint32_t expected = kAbsent;
		// seq_cst, as in release(): the unit before nwait.
		if (sem.unit(i).compare_exchange_strong(expected, 0, std::memory_order_seq_cst)) {
			if (sem.nwait().load(std::memory_order_seq_cst) != 0)
				detail::wakeOne(sem);
			return {};
		}
	}
	return fail(Errc::Exhausted);
}

uint32_t absentUnits(const SemaphoreView &sem)
{
	uint32_t absent = 0;
	for (uint32_t i = 0; i < sem.units(); ++i)
		if (sem.unit(i).load(std::memory_order_relaxed) == kAbsent)
			++absent;
	return absent;
}

uint32_t freeUnits(const SemaphoreView &sem)
{
	uint32_t free = 0;
	for (uint32_t i = 0; i < sem.units(); ++i)
		if (isFreeSlot(sem.unit(i).load(std::memory_order_relaxed)))
			++free;
	return free;
}

} // namespace ipchub::fast
