// SPDX-License-Identifier: LGPL-2.1-or-later
#include "futex.hpp"

#include <cerrno>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ipchub::fast {

namespace {

timespec nowMonotonic()
{
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now;
}

bool before(const timespec &a, const timespec &b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

} // namespace

Deadline Deadline::after(std::chrono::nanoseconds timeout)
{
	if (timeout.count() <= 0)
		return none();
	const timespec now = nowMonotonic();
	// nanoseconds reach 292 years at most: the sum fits a 64-bit time_t.
	const auto ns = timeout.count();
	timespec at{};
	at.tv_sec = now.tv_sec + static_cast<time_t>(ns / 1000000000);
	at.tv_nsec = now.tv_nsec + static_cast<long>(ns % 1000000000);
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	return Deadline(Kind::At, at);
}

bool Deadline::passed() const
{
	switch (kind_) {
	case Kind::Never:
		return false;
	case Kind::None:
		return true;
	case Kind::At:
		break;
	}
	return !before(nowMonotonic(), at_);
}

WaitOutcome futexWait(Word &word, uint32_t expected, const Deadline &deadline)
{
	if (deadline.isNone())
		return WaitOutcome::TimedOut;
	// FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time (FUTEX_WAIT a relative
	// one): a restart after EINTR keeps the caller's deadline.
	const long rc = syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT_BITSET,
				expected, deadline.absolute(), nullptr, FUTEX_BITSET_MATCH_ANY);
	if (rc == 0)
		return WaitOutcome::Retry;
	const int err = errno;
	if (err == ETIMEDOUT)
		return WaitOutcome::TimedOut;
	// EAGAIN: the word changed before the sleep; EINTR: a signal. Either way the caller
	// looks at the word again, and its loop checks the deadline.
	return WaitOutcome::Retry;
}

void futexWake(Word &word, int count)
{
	syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE, count, nullptr, nullptr,
		0);
}

} // namespace ipchub::fast
