// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sd_bus_access.hpp"

#include <stdexcept>
#include <type_traits>

#include <sdbus-c++/sdbus-c++.h>

namespace ipchub::bus {

namespace {

// sdbus::Message keeps its sd_bus_message in the protected member msg_. A class
// derived from Message may name that member, and the pointer to member it forms
// reads it from any Message; nothing is constructed or cast.
struct MessageAccess : sdbus::Message {
	static constexpr auto kMessage = &MessageAccess::msg_;
	static_assert(std::is_same_v<decltype(kMessage), void *sdbus::Message::*const>,
		      "sdbus::Message no longer keeps its sd_bus_message in msg_");

	static sd_bus_message *raw(const sdbus::Message &message)
	{
		return static_cast<sd_bus_message *>(message.*kMessage);
	}
};

} // namespace

sd_bus *sdBusOf(sdbus::IConnection &connection)
{
	auto proxy = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
	const auto call = proxy->createMethodCall("org.freedesktop.DBus", "Ping");
	sd_bus *bus = sd_bus_message_get_bus(MessageAccess::raw(call));
	if (!bus)
		throw std::runtime_error("no sd_bus under the connection");
	return bus;
}

} // namespace ipchub::bus
