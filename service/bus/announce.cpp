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

} // namespace

void announceAdded(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties)
{
	std::map<std::string, PropertyValues> interfaces;
	for (const auto &standard : kStandardInterfaces)
		interfaces.emplace(standard, PropertyValues{});
	interfaces.emplace(interface, properties);
	sendToWatchers(manager, peers, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesAdded", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

void announceRemoved(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface)
{
	std::vector<std::string> interfaces = kStandardInterfaces;
	interfaces.push_back(interface);
	sendToWatchers(manager, peers, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesRemoved", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

} // namespace ipchub::bus
