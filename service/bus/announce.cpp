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

template <typename Fill>
void sendToAudience(sdbus::IObject &from, const Peers &peers, const core::ObjectInfo &info,
		    const char *interface, const char *member, const Fill &fill)
{
	peers.forEach([&](const Peer &peer) {
		if (!core::mayAccess(peer.appId, info.id.scope, info.allowedApps))
			return;
		try {
			auto signal = from.createSignal(interface, member);
			fill(signal);
			signal.setDestination(peer.name);
			from.emitSignal(signal);
		} catch (const sdbus::Error &) {
			// The bus is gone (ipchubd is ending), or the peer is: nobody to tell.
		}
	});
}

} // namespace

void announceChanges(sdbus::IObject &object, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &interface, const PropertyValues &changed)
{
	sendToAudience(object, peers, info, "org.freedesktop.DBus.Properties", "PropertiesChanged",
		       [&](sdbus::Signal &signal) {
			       signal << interface << changed << std::vector<std::string>{};
		       });
}

void announceAdded(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties)
{
	std::map<std::string, PropertyValues> interfaces;
	for (const auto &standard : kStandardInterfaces)
		interfaces.emplace(standard, PropertyValues{});
	interfaces.emplace(interface, properties);
	sendToAudience(manager, peers, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesAdded", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

void announceRemoved(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface)
{
	std::vector<std::string> interfaces = kStandardInterfaces;
	interfaces.push_back(interface);
	sendToAudience(manager, peers, info, "org.freedesktop.DBus.ObjectManager",
		       "InterfacesRemoved", [&](sdbus::Signal &signal) {
			       signal << sdbus::ObjectPath(path) << interfaces;
		       });
}

} // namespace ipchub::bus
