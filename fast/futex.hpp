// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Shared (not PRIVATE) futex calls on page words, and the deadline of a wait: an
// absolute CLOCK_MONOTONIC time, so that a wait interrupted by a signal or a spurious
// wake-up resumes without stretching the caller's timeout.

#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include "word.hpp"

namespace ipchub::fast {

class Deadline
{
public:
	// Wait as long as it takes.
	static Deadline never() { return Deadline(Kind::Never, {}); }
	// Do not wait at all: a try operation.
	static Deadline none() { return Deadline(Kind::None, {}); }
	// Wait at most this long from now.
	static Deadline after(std::chrono::nanoseconds timeout);

	bool isNever() const { return kind_ == Kind::Never; }
	bool isNone() const { return kind_ == Kind::None; }
	bool passed() const;
	// The absolute time for FUTEX_WAIT_BITSET; nullptr when there is none.
	const timespec *absolute() const { return kind_ == Kind::At ? &at_ : nullptr; }

private:
	enum class Kind : uint8_t {
		Never,
		None,
		At
	};
	Deadline(Kind kind, timespec at) : kind_(kind), at_(at) {}

	Kind kind_;
	timespec at_;
};

enum class WaitOutcome : uint8_t {
	// Woken, interrupted, or the word no longer held the expected value: look again.
	Retry,
	// The deadline passed.
	TimedOut,
};

// Sleeps while *word == expected, until woken or the deadline passes.
WaitOutcome futexWait(Word &word, uint32_t expected, const Deadline &deadline);
// Wakes at most count sleepers of the word; INT_MAX for all.
void futexWake(Word &word, int count);

// A short pause in a spin loop: lets the other hyperthread run.
inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	asm volatile("yield" ::: "memory");
#else
	std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

} // namespace ipchub::fast
