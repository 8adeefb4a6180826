// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <optional>
#include <string_view>

namespace ipchub {

// The three kinds of object ipchubd keeps.
enum class ObjectKind {
	Semaphore,
	SharedMemory,
	Lock
};

// "semaphore", "shm" or "lock": the kind's component of object paths.
std::string_view objectKindName(ObjectKind kind);
// The kind named "semaphore" (or "sem"), "shm" or "lock"; nullopt for anything else.
std::optional<ObjectKind> objectKindFromName(std::string_view name);

} // namespace ipchub
