// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <cstdint>

namespace ipchub::detail {

// A point on the steady clock by which a call must return, or none. Built with
// saturating arithmetic: a timeout too large for the clock is no limit, never an
// overflow.
class Deadline
{
public:
	using Clock = std::chrono::steady_clock;

	static Deadline never() { return Deadline(); }
	static Deadline at(Clock::time_point when) { return Deadline(when); }
	// from + timeout; never() when that is past what the clock can hold.
	static Deadline after(std::chrono::microseconds timeout,
			      Clock::time_point from = Clock::now())
	{
		using std::chrono::duration_cast;
		if (timeout.count() <= 0)
			return Deadline(from);
		const auto room =
			duration_cast<std::chrono::microseconds>(Clock::time_point::max() - from);
		if (timeout >= room)
			return never();
		return Deadline(from + duration_cast<Clock::duration>(timeout));
	}

	bool isNever() const { return never_; }
	Clock::time_point when() const { return never_ ? Clock::time_point::max() : when_; }
	bool passed() const { return !never_ && Clock::now() >= when_; }
	// This deadline moved later by extra, saturating.
	Deadline plus(std::chrono::microseconds extra) const
	{
		return never_ ? *this : after(extra, when_);
	}
	// The earlier of the two.
	Deadline min(const Deadline &other) const { return when() <= other.when() ? *this : other; }
	// What is left, at least zero; microseconds::max() for none.
	std::chrono::microseconds left() const
	{
		if (never_)
			return std::chrono::microseconds::max();
		const auto now = Clock::now();
		if (now >= when_)
			return std::chrono::microseconds(0);
		return std::chrono::ceil<std::chrono::microseconds>(when_ - now);
	}
	// The timeout of a bus call: UINT64_MAX (no limit) for none, else what is left but
	// at least 1 µs (sd-bus reads 0 as its own default).
	uint64_t busTimeoutUsec() const
	{
		if (never_)
			return UINT64_MAX;
		const auto usec = left().count();
		return usec <= 0 ? 1 : static_cast<uint64_t>(usec);
	}
	// A poll(2) timeout in milliseconds, rounded up, so that poll does not wake a
	// little early and spin: -1 for none, at most INT_MAX.
	int pollMs() const
	{
		if (never_)
			return -1;
		const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left()).count();
		return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
	}

private:
	Deadline() = default;
	explicit Deadline(Clock::time_point when) : never_(false), when_(when) {}

	bool never_ = true;
	Clock::time_point when_{};
};

} // namespace ipchub::detail
