// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Lock and unlock on a fast lock's page, from any thread of any process that mapped it.
//
// Exclusive mode: CAS 0 -> token; when held, a short spin, then WAITERS is set and the
// thread sleeps on the word. A thread that slept takes the word with WAITERS set, since
// others may still sleep; unlock wakes one sleeper when WAITERS was set.
//
// Shared (reader) mode records each reader as a semaphore records a unit's holder: a
// reader first claims a reader slot (CAS 0 or DIED -> token), then enters by a CAS on
// the lock word: a free word becomes SHARED, a SHARED word has its version bumped. A
// reader leaves by freeing its slot, then ("last one out") reading the word, scanning
// the slots, and, when none is held, CAS-ing the word it read back to free. A reader
// entering meanwhile bumps the version, so the stale CAS fails and that reader leaves
// the word to its own exit. A reader that has to sleep gives its slot back first (a
// sleeper's slot would keep the word SHARED with nobody in it) and claims one again when
// woken. Because each slot names its holder, recovery can give back a dead reader's
// share without any counter to repair.

#include "error.hpp"
#include "futex.hpp"
#include "layout.hpp"

namespace ipchub::fast {

enum class Acquired : uint8_t {
	Clean,
	// The previous holder died holding it (as EOWNERDEAD): the state it guarded may be
	// half-written.
	OwnerDied,
};

namespace detail {
Result<Acquired> lockSlow(const LockView &lock, uint32_t token, const Deadline &deadline);
Result<void> unlockSlow(const LockView &lock, uint32_t token);
} // namespace detail

// Takes the lock exclusively for token. Errors: WouldBlock (Deadline::none()), Timeout,
// Deadlock (the token already holds it, exclusively or shared).
inline Result<Acquired> lock(const LockView &lock, uint32_t token, const Deadline &deadline)
{
	uint32_t expected = 0;
	if (lock.word().compare_exchange_strong(expected, token, std::memory_order_acquire,
						std::memory_order_relaxed))
		return Acquired::Clean;
	return detail::lockSlow(lock, token, deadline);
}

// Gives back an exclusive hold. TakenBack when the word records someone else.
inline Result<void> unlock(const LockView &lock, uint32_t token)
{
	uint32_t expected = token;
	if (lock.word().compare_exchange_strong(expected, 0, std::memory_order_release,
						std::memory_order_relaxed))
		return {};
	return detail::unlockSlow(lock, token);
}

// Takes the lock in shared mode. Errors as lock(), and Exhausted when every reader slot
// is taken.
Result<Acquired> lockShared(const LockView &lock, uint32_t token, const Deadline &deadline);
// Gives back a shared hold. TakenBack when no reader slot records the token.
Result<void> unlockShared(const LockView &lock, uint32_t token);

// Frees the lock word if it is SHARED and no reader slot is held. Bounded: at most
// maxAttempts CAS attempts, enough because a CAS fails only when a reader entered (and
// will run this on its own exit) or a flag bit changed (retried).
void releaseIfNoReaders(const LockView &lock, int wakeCount, int maxAttempts);

} // namespace ipchub::fast
