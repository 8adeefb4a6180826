// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/object_kind.hpp"

namespace ipchub {

std::string_view objectKindName(ObjectKind kind)
{
	return common::namesOf(kind).pathName;
}

std::optional<ObjectKind> objectKindFromName(std::string_view name)
{
	if (name == "sem")
		return ObjectKind::Semaphore;
	for (const auto &entry : common::kKinds)
		if (entry.pathName == name)
			return entry.kind;
	return std::nullopt;
}

namespace common {

std::optional<ObjectKind> kindOfInterface(std::string_view interface)
{
	for (const auto &entry : kKinds)
		if (entry.interface == interface)
			return entry.kind;
	return std::nullopt;
}

} // namespace common

} // namespace ipchub
