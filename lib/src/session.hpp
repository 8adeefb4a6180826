#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "handshake_relay.hpp"
#include "ipchub/result.hpp"
#include "ipchub/semaphore.hpp"

namespace ipchub::detail {

inline constexpr const char *kBusName = "io.github.ipchub1";
inline constexpr const char *kManagerPath = "/io/github/ipchub1";

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

// Runs a bus call; an sdbus::Error becomes the Result's error.
template <typename Call>
auto callBus(Call &&call) -> Result<decltype(call())>
{
	try {
		if constexpr (std::is_void_v<decltype(call())>) {
			call();
			return {};
		} else {
			return call();
		}
	} catch (const sdbus::Error &e) {
		return fail(errorCodeFromDbusName(e.getName()), e.getMessage());
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
