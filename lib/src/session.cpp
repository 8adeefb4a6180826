#include "session.hpp"

#include <chrono>
#include <cstdlib>
#include <string_view>
#include <thread>

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

CallFailure classify(const sdbus::Error &error)
{
	const std::string &name = error.getName();
	if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
	    name == "org.freedesktop.DBus.Error.NameHasNoOwner")
		return CallFailure::NoService;
	return CallFailure::Other;
}

Error restartError(const sdbus::Error &error)
{
	const std::string &name = error.getName();
	if (name == "org.freedesktop.DBus.Error.NoReply")
		return {ErrorCode::Failed, "ipchubd gave no reply (it may have left the bus during the "
					   "call; what the call did is unknown): " +
						   error.getMessage()};
	if (name == "org.freedesktop.DBus.Error.UnknownObject")
		return {ErrorCode::NotFound, "the object is gone: it was removed, or ipchubd restarted "
					     "and it was not persistent (" +
						     error.getMessage() + ")"};
	if (classify(error) == CallFailure::NoService)
		return {ErrorCode::Failed, "ipchubd is not on the bus: " + error.getMessage()};
	return {errorCodeFromDbusName(name), error.getMessage()};
}

bool waitForRestart(int attempt)
{
	using namespace std::chrono;
	constexpr milliseconds kStep{20};
	milliseconds allowed{5000};
	if (const char *text = std::getenv("IPCHUB_RESTART_WAIT_MS"))
		allowed = milliseconds(std::strtoul(text, nullptr, 10));
	if (kStep * attempt >= allowed)
		return false;
	std::this_thread::sleep_for(kStep);
	return true;
}

} // namespace ipchub::detail
