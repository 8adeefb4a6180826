// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Every name of each kind of object, in one table: the library, the service and
// ipchubctl call a kind by its ObjectKind and look its names up here. ObjectKind is
// defined by the library's public header (Client::status takes it), which this reuses.

#include <array>
#include <optional>
#include <string_view>

#include <ipchub/object_kind.hpp>

namespace ipchub::common {

struct KindNames {
	ObjectKind kind;
	// Its node below the Manager's path, and its name on ipchubctl's command line.
	std::string_view pathName;
	// Its D-Bus interface (the XML in interfaces/).
	std::string_view interface;
	// As messages name it: "shared memory \"frame\"".
	std::string_view noun;
};

inline constexpr std::array kKinds{
	KindNames{ObjectKind::Semaphore, "semaphore", "io.github.ipchub1.Semaphore", "semaphore"},
	KindNames{ObjectKind::SharedMemory, "shm", "io.github.ipchub1.SharedMemory",
		  "shared memory"},
	KindNames{ObjectKind::Lock, "lock", "io.github.ipchub1.Lock", "lock"},
};

constexpr const KindNames &namesOf(ObjectKind kind)
{
	for (const auto &entry : kKinds)
		if (entry.kind == kind)
			return entry;
	return kKinds[0];
}

std::optional<ObjectKind> kindOfInterface(std::string_view interface);

} // namespace ipchub::common
