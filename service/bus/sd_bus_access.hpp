// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>

#include <systemd/sd-bus.h>

namespace sdbus {
class IConnection;
}

namespace ipchub::bus {

// Parallels EventSourceUnref (event_loop.hpp) on purpose: another sd type, another unref.
struct SlotUnref {
	void operator()(sd_bus_slot *slot) const { sd_bus_slot_unref(slot); }
};
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

// The sd_bus under a connection, for what sd-bus does and sdbus-c++ 1.2 does not wrap
// (message filters). sdbus-c++ 1.2 has no accessor for it: this takes it from a
// message made on the connection (sd_bus_message_get_bus). Valid while the
// connection is.
sd_bus *sdBusOf(sdbus::IConnection &connection);

} // namespace ipchub::bus
