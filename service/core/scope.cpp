// SPDX-License-Identifier: LGPL-2.1-or-later
#include "scope.hpp"

#include "common/flatpak_info.hpp"

namespace ipchub::core {

Result<void> checkAllowedApps(const std::vector<std::string> &apps)
{
	if (apps.size() > kMaxAllowedApps)
		return fail(ErrorCode::InvalidArgument,
			    "option allowed_apps lists " + std::to_string(apps.size()) +
				    " apps; at most " + std::to_string(kMaxAllowedApps));
	for (size_t i = 0; i < apps.size(); ++i)
		if (!common::isValidAppId(apps[i]))
			return fail(ErrorCode::InvalidArgument, "option allowed_apps: entry " +
									std::to_string(i) +
									" is not an app id");
	return {};
}

Result<bool> parseAllowedAppsAccess(const std::string &access)
{
	if (access == "read")
		return false;
	if (access == "write")
		return true;
	return fail(ErrorCode::InvalidArgument,
		    "option allowed_apps_access is \"" +
			    (isValidUtf8(access) && access.size() <= 16 ? access
									: std::string("…")) +
			    "\"; it is \"read\" or \"write\"");
}

} // namespace ipchub::core
