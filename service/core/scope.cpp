#include "scope.hpp"

#include <algorithm>

#include "common/flatpak_info.hpp"

namespace ipchub::core {

namespace {

// A scope is the host's ("") or an app id: nothing else can ever be a caller's.
Result<void> checkScope(const std::string &scope)
{
	if (scope.empty() || common::isValidAppId(scope))
		return {};
	return fail(ErrorCode::InvalidArgument,
		    "option scope (" + std::to_string(scope.size()) +
			    " bytes) is neither \"\" (the host) nor an app id");
}

} // namespace

Result<std::string> scopeForCreate(const std::string &callerScope,
				   const std::optional<std::string> &requested)
{
	if (!requested || *requested == callerScope)
		return callerScope;
	if (auto valid = checkScope(*requested); !valid)
		return detail::Unexpected<Error>(valid.error());
	if (!callerScope.empty())
		return fail(ErrorCode::PermissionDenied,
			    "app " + callerScope + " cannot create objects in scope \"" +
				    *requested + "\"");
	return *requested;
}

Result<std::string> scopeForOpen(const std::string &callerScope,
				 const std::optional<std::string> &requested)
{
	if (!requested)
		return callerScope;
	if (auto valid = checkScope(*requested); !valid)
		return detail::Unexpected<Error>(valid.error());
	return *requested;
}

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

bool mayAccess(const std::string &callerScope, const std::string &objectScope,
	       const std::vector<std::string> &allowedApps)
{
	return callerScope.empty() || callerScope == objectScope ||
	       std::ranges::find(allowedApps, callerScope) != allowedApps.end();
}

bool mayWrite(const std::string &callerScope, const ObjectInfo &info)
{
	return mayManage(callerScope, info.id.scope) ||
	       (info.allowedAppsWrite && mayAccess(callerScope, info.id.scope, info.allowedApps));
}

bool mayManage(const std::string &callerScope, const std::string &objectScope)
{
	return callerScope.empty() || callerScope == objectScope;
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
