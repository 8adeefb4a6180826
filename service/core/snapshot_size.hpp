// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>

#include "key.hpp"

namespace ipchub::core {

// The most a restarting service reads back as its saved state; the state_bytes
// limit keeps what persistent objects put there well under it.
inline constexpr uint64_t kMaxStateBytes = uint64_t{256} << 20;

// What the saved state keeps of a persistent object whatever its state: its scope,
// key and allowed_apps, its creator (uid and app id, which is the scope or "") and the
// fixed fields of the largest record.
// Holders, grants and references come and go with their connections and are bounded
// by the per-connection and per-account limits instead.
inline uint64_t savedBytes(const ObjectInfo &info)
{
	constexpr uint64_t kFixed = 64;
	uint64_t bytes = kFixed + 2 * (4 + info.id.scope.size()) + 4 + info.id.key.size() + 4;
	for (const auto &app : info.allowedApps)
		bytes += 4 + app.size();
	return bytes;
}

} // namespace ipchub::core
