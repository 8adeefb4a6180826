// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

#include "key.hpp"

namespace ipchub::core {

// The options that share an object with other scopes. Who may use which scope is
// access.hpp's.

// The apps an object is shared with: app ids, at most kMaxAllowedApps of them.
inline constexpr size_t kMaxAllowedApps = 256;
Result<void> checkAllowedApps(const std::vector<std::string> &apps);
// allowed_apps_access: "read" (false) or "write" (true).
Result<bool> parseAllowedAppsAccess(const std::string &access);

} // namespace ipchub::core
