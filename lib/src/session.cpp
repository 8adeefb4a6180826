#include "session.hpp"

namespace ipchub::detail {

uint64_t timeoutUsec(std::chrono::microseconds timeout)
{
	if (timeout == kForever)
		return UINT64_MAX;
	return timeout.count() <= 0 ? 0 : static_cast<uint64_t>(timeout.count());
}

uint64_t callTimeoutFor(uint64_t timeoutUsec)
{
	// sd-bus waits without limit for UINT64_MAX.
	constexpr uint64_t kMargin = 30'000'000;
	return timeoutUsec >= UINT64_MAX - kMargin ? UINT64_MAX : timeoutUsec + kMargin;
}

} // namespace ipchub::detail
