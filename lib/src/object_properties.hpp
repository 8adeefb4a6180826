// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Turning what the bus says of an object (its interface and properties) into an
// ipchub::ObjectStatus.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "common/object_kind.hpp"
#include "ipchub/lock.hpp"
#include "ipchub/object_status.hpp"

namespace ipchub::detail {

using PropertyMap = std::map<std::string, sdbus::Variant>;
// The interfaces of one object and their properties, as GetManagedObjects and
// InterfacesAdded carry them.
using InterfaceMap = std::map<std::string, PropertyMap>;

// The object as the service's messages name it: semaphore "jobs" in scope org.example.App.
std::string describe(ObjectKind kind, const std::string &scope, std::string_view key);
// Whether a call on an object's path failed because no such object is there.
bool isUnknownObject(const sdbus::Error &error);
using common::kindOfInterface;

// A property's value as text (see ipchub::Property).
std::string propertyText(const sdbus::Variant &value);

ObjectStatus objectStatus(ObjectKind kind, std::string path, const PropertyMap &properties);
// The status of an ipchub object among interfaces; nullopt if it carries none of ours.
std::optional<ObjectStatus> objectStatus(std::string path, const InterfaceMap &interfaces);

// A lock's Holders property as the bus carries it: a(ssustt).
using LockHolderStructs = std::vector<
	sdbus::Struct<std::string, std::string, uint32_t, std::string, uint64_t, uint64_t>>;
std::vector<LockHolder> lockHolders(const LockHolderStructs &holders);

} // namespace ipchub::detail
