// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <sdbus-c++/sdbus-c++.h>

#include "common/result.hpp"

#include "errors.hpp"
#include "event_loop.hpp"

namespace ipchub::bus {

// Sends WaitEnded, the end of a Wait ticket, to the one connection that waits. The
// adaptor owns it and detaches it when it goes; a wait that ends later (the object
// is being removed) then sends nothing, as a deferred Acquire reply does.
class WaitEndedSender
{
public:
	// interface: the adaptor's INTERFACE_NAME, a string literal.
	WaitEndedSender(sdbus::IObject &object, const char *interface)
		: object_(&object), interface_(interface)
	{
	}

	void detach() { object_ = nullptr; }

	// WaitEnded(ticket, grant..., error name, message) to destination alone.
	template <typename... Grant>
	void send(const std::string &destination, uint64_t ticket, const Result<void> &outcome,
		  const Grant &...grant)
	{
		if (!object_)
			return;
		std::string name, message;
		if (!outcome) {
			const sdbus::Error error = toDbusError(outcome.error());
			name = error.getName();
			message = error.getMessage();
		}
		try {
			auto signal = object_->createSignal(interface_, "WaitEnded");
			// Unicast: dbus-daemon routes it to the waiter and matches it against
			// nobody else's rules.
			signal.setDestination(destination);
			signal << ticket;
			((signal << grant), ...);
			signal << name << message;
			object_->emitSignal(signal);
		} catch (const sdbus::Error &) {
			// The waiter is gone; the bus tells us and its grant comes back.
		}
	}

private:
	sdbus::IObject *object_;
	const char *interface_;
};

// One queued ticket: its number (known once the core has queued it) and the timer
// that ends it. The core's completion holds it; ending the wait drops the timer.
struct WaitTicket {
	uint64_t id = 0;
	std::unique_ptr<Timer> timer;
};

// The error a wait ends with when its waiter calls CancelWait.
inline Error waitCancelled(uint64_t ticket)
{
	return {ErrorCode::Cancelled,
		"the wait with ticket " + std::to_string(ticket) + " was cancelled"};
}

} // namespace ipchub::bus
