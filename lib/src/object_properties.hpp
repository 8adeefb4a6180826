#pragma once

// Turning what the bus says of an object (its interface and properties) into an
// ipchub::ObjectStatus.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <sdbus-c++/sdbus-c++.h>

#include "ipchub/object_status.hpp"

namespace ipchub::detail {

using PropertyMap = std::map<std::string, sdbus::Variant>;
// The interfaces of one object and their properties, as GetManagedObjects and
// InterfacesAdded carry them.
using InterfaceMap = std::map<std::string, PropertyMap>;

const char *interfaceOf(ObjectKind kind);

// The path ipchubd gives the object of kind named key in scope ("" for the host's):
// .../KIND/<key>, or .../KIND/<scope>/<key>, each label escaped by sd_bus_path_encode.
std::string objectPathOf(ObjectKind kind, const std::string &scope, std::string_view key);
// The object as the service's messages name it: semaphore "jobs" in scope org.example.App.
std::string describe(ObjectKind kind, const std::string &scope, std::string_view key);
// Whether a call on an object's path failed because no such object is there.
bool isUnknownObject(const sdbus::Error &error);
std::optional<ObjectKind> kindOfInterface(const std::string &interface);

// A property's value as text (see ipchub::Property).
std::string propertyText(const sdbus::Variant &value);

ObjectStatus objectStatus(ObjectKind kind, std::string path, const PropertyMap &properties);
// The status of an ipchub object among interfaces; nullopt if it carries none of ours.
std::optional<ObjectStatus> objectStatus(std::string path, const InterfaceMap &interfaces);

} // namespace ipchub::detail
