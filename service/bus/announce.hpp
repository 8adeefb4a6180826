#pragma once

#include <map>
#include <string>
#include <type_traits>

#include <sdbus-c++/IObject.h>
#include <sdbus-c++/Message.h>
#include <sdbus-c++/Types.h>

#include "core/key.hpp"
#include "core/scope.hpp"
#include "peers.hpp"

namespace ipchub::bus {

// The signals about an object (PropertiesChanged, InterfacesAdded/Removed), sent as
// one unicast copy to each watching peer that may see the object, never broadcast:
// xdg-dbus-proxy hands a sandboxed app every broadcast of a name it may talk to, keys,
// scopes and holders of every scope included. A peer watches once it has called
// org.freedesktop.DBus.ObjectManager.GetManagedObjects, as an object manager client
// (GDBusObjectManagerClient, ipchubctl watch) does before it listens; peers that only
// call methods or read a property (libipchub) are sent nothing they would never read.

using PropertyValues = std::map<std::string, sdbus::Variant>;

// Sends interface.member from the object `from` to every watching peer that may see
// the object described by info, each copy filled by fill(signal) or, where it
// depends on the recipient, fill(signal, peer).
template <typename Fill>
void sendToWatchers(sdbus::IObject &from, const Peers &peers, const core::ObjectInfo &info,
		    const char *interface, const char *member, const Fill &fill)
{
	peers.forEach([&](const Peer &peer) {
		if (!peer.watching || !core::mayAccess(peer.appId, info.id.scope, info.allowedApps))
			return;
		try {
			auto signal = from.createSignal(interface, member);
			if constexpr (std::is_invocable_v<const Fill &, sdbus::Signal &,
							  const Peer &>)
				fill(signal, peer);
			else
				fill(signal);
			signal.setDestination(peer.name);
			from.emitSignal(signal);
		} catch (const sdbus::Error &) {
			// The bus is gone (ipchubd is ending), or the peer is: nobody to tell.
		}
	});
}

// InterfacesAdded(path, {interface: properties} and the standard interfaces) from the
// object manager.
void announceAdded(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties);
// InterfacesRemoved(path, the interfaces) from the object manager.
void announceRemoved(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface);

} // namespace ipchub::bus
