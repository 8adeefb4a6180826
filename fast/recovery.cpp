// SPDX-License-Identifier: LGPL-2.1-or-later
#include "recovery.hpp"

#include <climits>

#include "futex.hpp"
#include "lock.hpp"

namespace ipchub::fast {

namespace {

// A word changes under a CAS only when a waiter sets WAITERS (once) or a client of the
// page writes it: a few attempts settle any live page.
constexpr int kCasAttempts = 64;

bool validOwner(uint32_t owner)
{
	return owner != 0 && owner < kOwnerLimit;
}

// Marks the word DIED if it records the dead owner, keeping the bits in keep.
bool markDied(Word &word, uint32_t deadOwner, uint32_t keep)
{
	for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
		uint32_t value = word.load(std::memory_order_seq_cst);
		if (ownerOf(value) != deadOwner)
			return false;
		if (word.compare_exchange_strong(value, kDied | (value & keep),
						 std::memory_order_seq_cst))
			return true;
	}
	return false;
}

// Tells the next holder of a SHARED word that a reader died holding it.
void markSharedDied(Word &word)
{
	for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
		uint32_t value = word.load(std::memory_order_seq_cst);
		if (!(value & kShared) || (value & kDied))
			return;
		if (word.compare_exchange_strong(value, value | kDied, std::memory_order_seq_cst))
			return;
	}
}

uint32_t subtractClamped(Word &count, uint32_t amount)
{
	for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
		uint32_t value = count.load(std::memory_order_seq_cst);
		const uint32_t next = value > amount ? value - amount : 0;
		if (count.compare_exchange_strong(value, next, std::memory_order_seq_cst))
			return value - next;
	}
	return 0;
}

} // namespace

Recovered recoverLock(const LockView &lock, uint32_t deadOwner)
{
	Recovered done;
	if (!validOwner(deadOwner) || !isValid(LockShape{lock.readerSlots()}))
		return done;
	if (markDied(lock.word(), deadOwner, kWaiters))
		done.locks++;
	for (uint32_t i = 0; i < lock.readerSlots(); ++i)
		if (markDied(lock.reader(i), deadOwner, 0))
			done.readers++;
	if (done.readers) {
		markSharedDied(lock.word());
		releaseIfNoReaders(lock, INT_MAX, kCasAttempts);
	}
	futexWake(lock.word(), INT_MAX);
	return done;
}

Recovered recoverSemaphore(const SemaphoreView &sem, uint32_t deadOwner, uint32_t attach)
{
	Recovered done;
	if (!validOwner(deadOwner) || !isValid(SemaphoreShape{sem.units(), sem.attachSlots()}))
		return done;
	for (uint32_t i = 0; i < sem.units(); ++i)
		if (markDied(sem.unit(i), deadOwner, 0))
			done.units++;
	if (attach < sem.attachSlots()) {
		const uint32_t gone = sem.waiters(attach).exchange(0, std::memory_order_seq_cst);
		done.waiters = subtractClamped(sem.nwait(), gone);
	}
	sem.seq().fetch_add(1, std::memory_order_seq_cst);
	futexWake(sem.seq(), INT_MAX);
	return done;
}

} // namespace ipchub::fast
