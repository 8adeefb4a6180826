// SPDX-License-Identifier: LGPL-2.1-or-later
#include "access.hpp"

#include <algorithm>

#include "common/flatpak_info.hpp"

namespace ipchub::core::access {

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

bool seesEveryScope(const std::string &caller)
{
	return caller.empty();
}

bool mayUse(const std::string &caller, const ObjectInfo &object)
{
	return mayManage(caller, object.id.scope) ||
	       std::ranges::find(object.allowedApps, caller) != object.allowedApps.end();
}

bool mayWrite(const std::string &caller, const ObjectInfo &object)
{
	return mayManage(caller, object.id.scope) ||
	       (object.allowedAppsWrite && mayUse(caller, object));
}

bool mayManage(const std::string &caller, const std::string &scope)
{
	return seesEveryScope(caller) || caller == scope;
}

bool maySeeHolder(const std::string &viewer, const std::string &holderScope)
{
	return mayManage(viewer, holderScope);
}

Result<std::string> scopeForCreate(const std::string &caller,
				   const std::optional<std::string> &requested)
{
	if (!requested || *requested == caller)
		return caller;
	if (auto valid = checkScope(*requested); !valid)
		return errorOf(valid);
	if (!mayManage(caller, *requested))
		return fail(ErrorCode::PermissionDenied,
			    "app " + caller + " cannot create objects in scope \"" + *requested +
				    "\"");
	return *requested;
}

Result<std::string> scopeForOpen(const std::string &caller,
				 const std::optional<std::string> &requested)
{
	if (!requested)
		return caller;
	if (auto valid = checkScope(*requested); !valid)
		return errorOf(valid);
	return *requested;
}

Result<void> checkUse(const std::string &caller, const ObjectInfo &object, const std::string &what)
{
	if (!mayUse(caller, object))
		return fail(ErrorCode::PermissionDenied, "app " + caller + " may not use " + what);
	return {};
}

Result<void> checkWrite(const std::string &caller, const ObjectInfo &object,
			const std::string &what)
{
	if (!mayWrite(caller, object))
		return fail(ErrorCode::PermissionDenied,
			    "app " + caller + " may only read " + what +
				    ": its creator shared it with allowed_apps_access \"read\"");
	return {};
}

Result<void> checkManage(const std::string &caller, const ObjectInfo &object,
			 const std::string &what, const std::string &action)
{
	if (!mayManage(caller, object.id.scope))
		return fail(ErrorCode::PermissionDenied,
			    "app " + caller + " may not " + action + " " + what +
				    ": only its own scope (\"" + object.id.scope +
				    "\") and the host may");
	return {};
}

Result<void> checkOpen(const std::string &caller, const std::string &scope,
		       const ObjectInfo *existing, const std::string &what)
{
	if (mayManage(caller, scope) || (existing && mayUse(caller, *existing)))
		return {};
	return fail(ErrorCode::PermissionDenied,
		    "app " + caller + " may not use " + what + ": not shared with it");
}

Result<void> checkRemove(const std::string &caller, const std::string &path, bool inOwnScope,
			 const ObjectInfo *existing)
{
	// Outside its own scope nodes, every path gets this one answer: whether an object
	// is there, and whose, stays unknown to a sandboxed caller.
	if (!seesEveryScope(caller) &&
	    (!inOwnScope || (existing && !mayManage(caller, existing->id.scope))))
		return fail(ErrorCode::PermissionDenied,
			    "app " + caller + " may not remove " + path +
				    ": only the objects of its own scope");
	if (!existing)
		return fail(ErrorCode::NotFound, "no ipchub object at path " + path);
	return {};
}

Result<void> checkListAll(const std::string &caller)
{
	if (seesEveryScope(caller))
		return {};
	return fail(ErrorCode::PermissionDenied,
		    "GetManagedObjects lists every scope, so a sandboxed app (" + caller +
			    ") may not call it; open objects by key instead");
}

} // namespace ipchub::core::access
