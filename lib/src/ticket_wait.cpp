#include "ticket_wait.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "session.hpp"

namespace ipchub::detail {

namespace {

using Clock = std::chrono::steady_clock;

// Dispatches what the connection has read or can read without blocking.
void drain(sdbus::IConnection &connection, const TicketEnd &end)
{
	while (!end.ended && connection.processPendingRequest()) {
	}
}

} // namespace

Result<void> awaitTicket(sdbus::IConnection &connection, TicketEnd &end, uint64_t timeoutUsec,
			 const std::function<void()> &cancel)
{
	std::optional<Clock::time_point> deadline;
	if (const uint64_t limit = callTimeoutFor(timeoutUsec); limit != UINT64_MAX)
		deadline = Clock::now() + std::chrono::microseconds(limit);
	try {
		for (;;) {
			drain(connection, end);
			if (end.ended)
				break;
			const auto data = connection.getEventLoopPollData();
			std::optional<std::chrono::microseconds> wait = data.getRelativeTimeout();
			if (deadline) {
				const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
					*deadline - Clock::now());
				if (left.count() <= 0) {
					// The WaitEnded of a wait that ended before the cancel comes
					// before CancelWait's reply, so it is read by now.
					cancel();
					drain(connection, end);
					break;
				}
				wait = wait ? std::min(*wait, left) : left;
			}
			pollfd fd{data.fd, data.events, 0};
			const int ms = wait ? static_cast<int>((wait->count() + 999) / 1000) : -1;
			if (poll(&fd, 1, ms) < 0 && errno != EINTR)
				return fail(ErrorCode::Failed,
					    std::string("poll on the bus connection failed: ") +
						    strerror(errno));
		}
	} catch (const sdbus::Error &e) {
		if (!end.ended)
			return fail(errorCodeFromDbusName(e.getName()), e.getMessage());
	}
	if (!end.ended)
		return fail(ErrorCode::Timeout, "ipchubd did not end wait ticket " +
							std::to_string(end.ticket) + " within " +
							std::to_string(timeoutUsec) + " µs");
	if (!end.error.empty())
		return fail(errorCodeFromDbusName(end.error), end.message);
	return {};
}

} // namespace ipchub::detail
