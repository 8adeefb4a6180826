#pragma once

#include <map>
#include <string>

#include <sdbus-c++/Types.h>

#include "core/key.hpp"
#include "peers.hpp"

namespace sdbus {
class IObject;
}

namespace ipchub::bus {

// The signals about an object (PropertiesChanged, InterfacesAdded/Removed), sent as
// one unicast copy to each peer that has called ipchubd and may see the object, never
// broadcast: xdg-dbus-proxy hands a sandboxed app every broadcast of a name it may
// talk to, keys, scopes and holders of every scope included. A connection that wants
// the signals calls ipchubd once first (GetManagedObjects, say).

using PropertyValues = std::map<std::string, sdbus::Variant>;

// PropertiesChanged(interface, changed, []) from object.
void announceChanges(sdbus::IObject &object, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &interface, const PropertyValues &changed);
// InterfacesAdded(path, {interface: properties} and the standard interfaces) from the
// object manager.
void announceAdded(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties);
// InterfacesRemoved(path, the interfaces) from the object manager.
void announceRemoved(sdbus::IObject &manager, const Peers &peers, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface);

} // namespace ipchub::bus
