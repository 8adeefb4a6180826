// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <string>
#include <type_traits>

#include <sdbus-c++/IObject.h>
#include <sdbus-c++/Types.h>

#include "core/key.hpp"
#include "delivery.hpp"

namespace ipchub::bus {

// The signals about an object (PropertiesChanged, InterfacesAdded/Removed) go as one
// unicast copy to each peer that may see the object and is told of it (see
// Interests), never broadcast: xdg-dbus-proxy hands a sandboxed app every broadcast
// of a name it may talk to, keys, scopes and holders of every scope included.
// InterfacesAdded/Removed go to the watchers (peers that called GetManagedObjects).

using PropertyValues = std::map<std::string, sdbus::Variant>;

// InterfacesAdded(path, {interface: properties} and the standard interfaces) from the
// object manager.
void announceAdded(sdbus::IObject &manager, Delivery &delivery, const core::ObjectInfo &info,
		   const std::string &path, const std::string &interface,
		   const PropertyValues &properties);
// InterfacesRemoved(path, the interfaces) from the object manager.
void announceRemoved(sdbus::IObject &manager, Delivery &delivery, const core::ObjectInfo &info,
		     const std::string &path, const std::string &interface);

} // namespace ipchub::bus
