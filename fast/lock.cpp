// SPDX-License-Identifier: LGPL-2.1-or-later
#include "lock.hpp"

#include <climits>

namespace ipchub::fast {

namespace {

// About the time a holder needs to leave a short critical section: spinning longer only
// burns the CPU the holder may need.
constexpr int kSpins = 20;
// A live page settles within a few attempts; a scribbled one must not hold the caller.
constexpr int kLastOutAttempts = 1000;

bool holdsReaderSlot(const LockView &lock, uint32_t token)
{
	for (uint32_t i = 0; i < lock.readerSlots(); ++i)
		if (lock.reader(i).load(std::memory_order_relaxed) == token)
			return true;
	return false;
}

void giveUpReaderSlot(const LockView &lock, uint32_t slot, uint32_t token)
{
	uint32_t expected = token;
	lock.reader(slot).compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
	releaseIfNoReaders(lock, 1, kLastOutAttempts);
}

// A free reader slot now recording token; readerSlots() when none is free.
uint32_t claimReaderSlot(const LockView &lock, uint32_t token)
{
	for (uint32_t i = 0; i < lock.readerSlots(); ++i) {
		uint32_t s = lock.reader(i).load(std::memory_order_relaxed);
		if (isFreeSlot(s) &&
		    lock.reader(i).compare_exchange_strong(s, token, std::memory_order_seq_cst))
			return i;
	}
	return lock.readerSlots();
}

} // namespace

namespace detail {

Result<Acquired> lockSlow(const LockView &lock, uint32_t token, const Deadline &deadline)
{
	Word &word = lock.word();
	uint32_t keep = 0;
	int spins = 0;
	for (;;) {
		uint32_t w = word.load(std::memory_order_relaxed);
		if ((w & kTokenMask) == 0) {
			const uint32_t desired = token | (w & kWaiters) | keep;
			if (word.compare_exchange_weak(w, desired, std::memory_order_acquire,
						       std::memory_order_relaxed))
				return (w & kDied) ? Acquired::OwnerDied : Acquired::Clean;
			continue;
		}
		if ((w & kTokenMask) == token)
			return fail(Errc::Deadlock);
		if ((w & kShared) && holdsReaderSlot(lock, token))
			return fail(Errc::Deadlock);
		if (deadline.isNone())
			return fail(Errc::WouldBlock);
		if (spins < kSpins) {
			++spins;
			cpuRelax();
			continue;
		}
		if (!(w & kWaiters)) {
			if (!word.compare_exchange_weak(w, w | kWaiters, std::memory_order_relaxed,
							std::memory_order_relaxed))
				continue;
			w |= kWaiters;
		}
		keep = kWaiters;
		if (futexWait(word, w, deadline) == WaitOutcome::TimedOut)
			return fail(Errc::Timeout);
	}
}

Result<void> unlockSlow(const LockView &lock, uint32_t token)
{
	Word &word = lock.word();
	uint32_t w = word.load(std::memory_order_relaxed);
	do {
		if ((w & kTokenMask) != token)
			return fail(Errc::TakenBack);
	} while (!word.compare_exchange_weak(w, 0, std::memory_order_release,
					     std::memory_order_relaxed));
	if (w & kWaiters)
		futexWake(word, 1);
	return {};
}

} // namespace detail

Result<Acquired> lockShared(const LockView &lock, uint32_t token, const Deadline &deadline)
{
	Word &word = lock.word();
	if ((word.load(std::memory_order_relaxed) & kTokenMask) == token ||
	    holdsReaderSlot(lock, token))
		return fail(Errc::Deadlock);

	uint32_t keep = 0;
	int spins = 0;
	for (;;) {
		const uint32_t slot = claimReaderSlot(lock, token);
		if (slot == lock.readerSlots())
			return fail(Errc::Exhausted);
		uint32_t w = 0;
		for (;;) {
			w = word.load(std::memory_order_seq_cst);
			if (w & kShared) {
				const uint32_t desired = (w & ~kVersionMask) |
							 ((w + 1) & kVersionMask);
				if (word.compare_exchange_weak(w, desired,
							       std::memory_order_seq_cst))
					return (w & kDied) ? Acquired::OwnerDied : Acquired::Clean;
				continue;
			}
			if ((w & kTokenMask) == 0) {
				const uint32_t desired = kShared | (w & kWaiters) | keep;
				if (!word.compare_exchange_weak(w, desired,
								std::memory_order_seq_cst))
					continue;
				// Other readers may sleep behind the writer that just left:
				// they can all come in now (writers go back to sleep).
				if (desired & kWaiters)
					futexWake(word, INT_MAX);
				return (w & kDied) ? Acquired::OwnerDied : Acquired::Clean;
			}
			if ((w & kTokenMask) == token) {
				giveUpReaderSlot(lock, slot, token);
				return fail(Errc::Deadlock);
			}
			if (deadline.isNone()) {
				giveUpReaderSlot(lock, slot, token);
				return fail(Errc::WouldBlock);
			}
			if (spins >= kSpins)
				break;
			++spins;
			cpuRelax();
		}
		// Sleep without a slot: a slot claimed by a sleeper would stop the last
		// reader of a later shared hold from freeing the word, and nobody would
		// wake the sleeper.
		giveUpReaderSlot(lock, slot, token);
		if (!(w & kWaiters)) {
			if (!word.compare_exchange_strong(w, w | kWaiters,
							  std::memory_order_seq_cst))
				continue;
			w |= kWaiters;
		}
		keep = kWaiters;
		if (futexWait(word, w, deadline) == WaitOutcome::TimedOut)
			return fail(Errc::Timeout);
	}
}

Result<void> unlockShared(const LockView &lock, uint32_t token)
{
	for (uint32_t i = 0; i < lock.readerSlots(); ++i) {
		uint32_t expected = token;
		if (lock.reader(i).compare_exchange_strong(expected, 0,
							   std::memory_order_seq_cst)) {
			releaseIfNoReaders(lock, 1, kLastOutAttempts);
			return {};
		}
	}
	return fail(Errc::TakenBack);
}

void releaseIfNoReaders(const LockView &lock, int wakeCount, int maxAttempts)
{
	Word &word = lock.word();
	uint32_t v = word.load(std::memory_order_seq_cst);
	for (int attempt = 0; attempt < maxAttempts; ++attempt) {
		if (!(v & kShared))
			return;
		for (uint32_t i = 0; i < lock.readerSlots(); ++i)
			if (!isFreeSlot(lock.reader(i).load(std::memory_order_seq_cst)))
				return;
		const uint32_t seen = v;
		// DIED stays: the next holder is told a reader died holding it.
		if (word.compare_exchange_strong(v, seen & kDied, std::memory_order_seq_cst)) {
			if (seen & kWaiters)
				futexWake(word, wakeCount);
			return;
		}
		// Another reader came in (it runs this on its way out), or a flag changed.
		if ((v & kShared) && ((v ^ seen) & kVersionMask))
			return;
	}
}

} // namespace ipchub::fast
