#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

#include "key.hpp"

namespace ipchub::core {

// Who may use which scope. A host caller (scope "") acts on every scope; a sandboxed
// caller acts in its own app-id scope, and on another scope's object only when that
// object's creator listed the caller's app id in allowed_apps.

// The scope a Create names: the caller's own unless the scope option says otherwise;
// a sandboxed caller can never create in another scope.
Result<std::string> scopeForCreate(const std::string &callerScope,
				   const std::optional<std::string> &requested);
// The scope an Open names. Whether the caller may use an object there is decided by
// mayAccess once the object is found.
// A requested scope that is neither "" nor an app id is InvalidArgument.
Result<std::string> scopeForOpen(const std::string &callerScope,
				 const std::optional<std::string> &requested);
// The apps an object is shared with: app ids, at most kMaxAllowedApps of them.
inline constexpr size_t kMaxAllowedApps = 256;
Result<void> checkAllowedApps(const std::vector<std::string> &apps);
bool mayAccess(const std::string &callerScope, const std::string &objectScope,
	       const std::vector<std::string> &allowedApps);
// Whether the caller may change the object's contents (a writable attach): its own
// scope, the host, or a listed app the creator gave write access.
bool mayWrite(const std::string &callerScope, const ObjectInfo &info);
// Whether the caller may end or seal the object (Remove, Seal): its own scope or the
// host only; being listed in allowed_apps never gives it.
bool mayManage(const std::string &callerScope, const std::string &objectScope);
// allowed_apps_access: "read" (false) or "write" (true).
Result<bool> parseAllowedAppsAccess(const std::string &access);

} // namespace ipchub::core
