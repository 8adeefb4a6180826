// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// ipchub::Timeout: how long a call may wait, as a duration of any std::chrono type or
// as a deadline on any clock.

#include <chrono>
#include <cstdint>

namespace ipchub {

// Waits without limit when passed as a timeout.
inline constexpr std::chrono::microseconds kForever = std::chrono::microseconds::max();

// A wait's limit. From a duration (std::chrono::seconds(5), 250ms, a floating-point
// duration...), counted from the call: zero or less tries once, kForever (or anything
// longer than microseconds can count) waits without limit. From a time_point of any
// clock (steady_clock::now() + 2s, a system_clock deadline...): what is left of it
// when the call starts; a deadline that has passed tries once. Rounded up to whole
// microseconds, so a wait never ends before its limit.
class Timeout
{
public:
	template <typename Rep, typename Period>
	constexpr Timeout(std::chrono::duration<Rep, Period> timeout) noexcept
		: usec_(clamp(timeout))
	{
	}
	template <typename Clock, typename Duration>
	Timeout(std::chrono::time_point<Clock, Duration> deadline) noexcept
		: usec_(untilDeadline(deadline))
	{
	}

	// The limit in microseconds: 0 to try once, kForever for none.
	constexpr std::chrono::microseconds duration() const noexcept { return usec_; }
	constexpr bool isForever() const noexcept { return usec_ == kForever; }

private:
	template <typename Rep, typename Period>
	static constexpr std::chrono::microseconds
	clamp(std::chrono::duration<Rep, Period> timeout) noexcept
	{
		// long double holds every int64 exactly: no overflow, no rounding down.
		using Micro = std::chrono::duration<long double, std::micro>;
		const long double usec = std::chrono::duration_cast<Micro>(timeout).count();
		if (!(usec > 0))
			return std::chrono::microseconds(0);
		if (usec >= static_cast<long double>(kForever.count()))
			return kForever;
		auto whole = static_cast<std::chrono::microseconds::rep>(usec);
		if (static_cast<long double>(whole) < usec)
			++whole;
		return std::chrono::microseconds(whole);
	}
	template <typename Clock, typename Duration>
	static std::chrono::microseconds
	untilDeadline(std::chrono::time_point<Clock, Duration> deadline) noexcept
	{
		const auto now = Clock::now();
		if (deadline <= now)
			return std::chrono::microseconds(0);
		if (deadline == std::chrono::time_point<Clock, Duration>::max())
			return kForever;
		return clamp(deadline - now);
	}

	std::chrono::microseconds usec_;
};

} // namespace ipchub
