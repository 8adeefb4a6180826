#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "common/object_path.hpp"
#include "handshake_relay.hpp"
#include "ipchub/result.hpp"
#include "ipchub/semaphore.hpp"

namespace ipchub::detail {

using common::kBusName;
using common::kManagerPath;

// The bus connection shared by a Client and every object it handed out.
struct Session {
	// Declared first so that it goes last, after the connection it carries.
	std::unique_ptr<HandshakeRelay> relay;
	std::unique_ptr<sdbus::IConnection> connection;

	std::unique_ptr<sdbus::IProxy> proxy(const std::string &path) const
	{
		return sdbus::createProxy(*connection, kBusName, path);
	}
};

// How a failed call stands with ipchubd restarting (see README.md, "What survives what").
enum class CallFailure {
	// The service's own error, or anything else: reported as it is.
	Other,
	// Nobody owns io.github.ipchub1 (ipchubd is restarting): the call never reached
	// a service, so it is safe to send again once someone owns the name.
	NoService,
};

// Sorts a bus error, and turns the errors of a restart into ipchub errors that say
// what happened.
CallFailure classify(const sdbus::Error &error);
Error restartError(const sdbus::Error &error);
// Waits a little before the next try while ipchubd restarts; false once the time
// allowed for a restart ($IPCHUB_RESTART_WAIT_MS, 5000 by default) is over.
bool waitForRestart(int attempt);

// Runs a bus call; an sdbus::Error becomes the Result's error. A call that found no
// ipchubd on the bus is sent again while one restarts; a call in flight when ipchubd
// died is not (it may have taken effect), and reports the error.
template <typename Call>
auto callBus(Call &&call) -> Result<decltype(call())>
{
	for (int attempt = 0;; ++attempt) {
		try {
			if constexpr (std::is_void_v<decltype(call())>) {
				call();
				return {};
			} else {
				return call();
			}
		} catch (const sdbus::Error &e) {
			if (classify(e) == CallFailure::NoService && waitForRestart(attempt))
				continue;
			return detail::Unexpected<Error>(restartError(e));
		}
	}
}

// Runs a bus call on an object's proxy, unless the object was closed (proxy is
// empty then); what names the object in the error.
template <typename Proxy, typename Call>
auto callOpen(const Proxy &proxy, const char *what, Call &&call) -> decltype(callBus(call))
{
	if (!proxy)
		return fail(ErrorCode::InvalidArgument, std::string(what) + " was closed");
	return callBus(call);
}

// The timeout_usec argument of a wait: UINT64_MAX (no limit) for kForever, 0 (try
// once) for zero or less.
uint64_t timeoutUsec(std::chrono::microseconds timeout);

// The D-Bus timeout of a call that waits up to timeoutUsec in the service: long
// enough for the service's own Timeout error to arrive first.
uint64_t callTimeoutFor(uint64_t timeoutUsec);

} // namespace ipchub::detail
