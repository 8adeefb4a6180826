#include "scope.hpp"

#include <algorithm>

namespace ipchub::core {

Result<std::string> scopeForCreate(const std::string &callerScope,
				   const std::optional<std::string> &requested)
{
	if (!requested || *requested == callerScope)
		return callerScope;
	if (!callerScope.empty())
		return fail(ErrorCode::PermissionDenied,
			    "app " + callerScope + " cannot create objects in scope \"" +
				    *requested + "\"");
	return *requested;
}

std::string scopeForOpen(const std::string &callerScope,
			 const std::optional<std::string> &requested)
{
	return requested ? *requested : callerScope;
}

bool mayAccess(const std::string &callerScope, const std::string &objectScope,
	       const std::vector<std::string> &allowedApps)
{
	return callerScope.empty() || callerScope == objectScope ||
	       std::ranges::find(allowedApps, callerScope) != allowedApps.end();
}

} // namespace ipchub::core
