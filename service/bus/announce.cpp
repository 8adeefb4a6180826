// SPDX-License-Identifier: LGPL-2.1-or-later
#include "announce.hpp"

#include <vector>

#include <sdbus-c++/IObject.h>
#include <sdbus-c++/Message.h>

#include "core/scope.hpp"

namespace ipchub::bus {

namespace {

// What sd-bus lists besides an object's own interface, as its own InterfacesAdded does.
const std::vector<std::string> kStandardInterfaces{"org.freedesktop.DBus.Peer",
						   "org.freedesktop.DBus.Introspectable",
						   "org.freedesktop.DBus.Properties"};

// Sends interface.member from the object `from` to every watcher that may see the
// object described by info, each copy filled by fill(signal).
template <typename Fill>
void sendToWatchers(sdbus::IObject &from, Delivery &delivery, const core::ObjectInfo &info,
		    const char *interface, const char *member, const Fill &fill)
{
	delivery.announce(info, [&](const std::string &peer) {
		try {
			auto signal = from.createSignal(interface, member);
			fill(signal);
			signal.setDestination(peer);
			from.emitSignal(signal);
			return true;
		} catch (const sdbus::Error &) {
			// The bus is gone (ipchubd is ending), or the peer is: nobody to tell.
			return false;
		}
	});
}

} // namespace

void announceAdded(sdbus::IObject &manager, Delivery &delivery, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties)
{
	std::map<std::string, PropertyValues> interfaces;
	for (const auto &standard : kStandardInterfaces)
		interfaces.emplace(standard, PropertyValues{});
	interfaces.emplace(interface, properties);
	sendToWatchers(manager, delivery, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesAdded", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

void announceRemoved(sdbus::IObject &manager, Delivery &delivery, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface)
{
	std::vector<std::string> interfaces = kStandardInterfaces;
	interfaces.push_back(interface);
	sendToWatchers(manager, delivery, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesRemoved", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

} // namespace ipchub::bus
