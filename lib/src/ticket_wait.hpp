#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "ipchub/result.hpp"

namespace ipchub::detail {

// What WaitEnded said about the ticket a thread waits for.
struct TicketEnd {
	uint64_t ticket = 0;
	bool ended = false;
	uint64_t token = 0;
	std::string error;
	std::string message;
};

// Waits for end (filled by the proxy's WaitEnded handler) by reading the connection:
// the library has no event loop thread. ipchubd ends the wait after timeoutUsec; the
// client gives up callTimeoutFor(timeoutUsec) after the start (ipchubd gone), calls
// cancel (CancelWait) and takes what has arrived by its reply. The outcome is the
// grant or WaitEnded's error.
Result<void> awaitTicket(sdbus::IConnection &connection, TicketEnd &end, uint64_t timeoutUsec,
			 const std::function<void()> &cancel);

} // namespace ipchub::detail
