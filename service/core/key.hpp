// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ipchub::core {

// Where an object lives: its scope ("" for the host, else a sandboxed app's id) and
// its key within that scope.
struct ObjectKey {
	std::string scope;
	std::string key;

	auto operator<=>(const ObjectKey &) const = default;
};

// A key is 1..maxLength bytes of valid UTF-8 without NUL.
Result<void> checkKey(std::string_view key, uint32_t maxLength);

bool isValidUtf8(std::string_view text);

} // namespace ipchub::core

namespace ipchub::core {

// What every object knows of itself besides its state: where it lives, and which
// other apps' sandboxes its creator shared it with.
struct ObjectInfo {
	ObjectKey id;
	std::vector<std::string> allowedApps;
	// Whether the listed apps may change the object too, not only use it: for a
	// shared-memory object, attach it writable. The creator's choice (allowed_apps_access); a
	// listed app reads only unless it was made.
	bool allowedAppsWrite = false;
};

} // namespace ipchub::core
