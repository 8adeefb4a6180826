// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

#include "key.hpp"

namespace ipchub::core::access {

// Who may see or use which object: every entry point of the service asks here (the
// path filter, the property getters, the methods of every object, Create, Open and
// Remove, and the change signals), so the rule has one place.
//
// A caller is named by its scope: "" for a host caller, its app id for a sandboxed one.
// A host caller sees and acts on every scope. A sandboxed caller sees and uses the
// objects of its own scope and those whose creator listed its app id in allowed_apps;
// it creates, removes and seals only in its own scope; it writes a listed app's
// shared-memory object only when the creator gave write access (allowed_apps_access "write").
// Seeing and using are one right: an object a caller may see, it may call.

// Whether caller sees every scope (the host): may list every object and read every
// holder's details.
bool seesEveryScope(const std::string &caller);
// Whether caller may see and use the object.
bool mayUse(const std::string &caller, const ObjectInfo &object);
// Whether caller may change the object's contents (attach a shared-memory object writable).
bool mayWrite(const std::string &caller, const ObjectInfo &object);
// Whether caller may create, remove or seal objects in scope: its own scope, or any
// for the host. Being listed in allowed_apps never gives it.
bool mayManage(const std::string &caller, const std::string &scope);
// Whether a viewer sees who holds an object (unique name, pid) when the holder is of
// holderScope: the host and the holder's own scope do; other apps see only the scope.
bool maySeeHolder(const std::string &viewer, const std::string &holderScope);

// The scope a Create names: the caller's own unless the scope option says otherwise;
// a sandboxed caller can never create in another scope.
Result<std::string> scopeForCreate(const std::string &caller,
				   const std::optional<std::string> &requested);
// The scope an Open names; whether the caller may use an object there is checkOpen's.
// A requested scope that is neither "" nor an app id is InvalidArgument.
Result<std::string> scopeForOpen(const std::string &caller,
				 const std::optional<std::string> &requested);

// The same rules as errors that name the caller and the object (what: "semaphore
// \"jobs\"", ...): PermissionDenied when refused.
Result<void> checkUse(const std::string &caller, const ObjectInfo &object, const std::string &what);
Result<void> checkWrite(const std::string &caller, const ObjectInfo &object,
			const std::string &what);
// action names what the caller tried: "remove", "seal".
Result<void> checkManage(const std::string &caller, const ObjectInfo &object,
			 const std::string &what, const std::string &action);
// Opening what in scope, where existing is the object there or nullptr: a sandboxed
// caller learns nothing of another scope, not even what is missing, so an object it may
// not use and no object at all get the same refusal.
Result<void> checkOpen(const std::string &caller, const std::string &scope,
		       const ObjectInfo *existing, const std::string &what);
// Removing what is at path, where existing is the object there or nullptr and inOwnScope
// whether path is below one of the caller's own scope nodes: outside it a sandboxed
// caller gets the same refusal whether an object is there or not.
Result<void> checkRemove(const std::string &caller, const std::string &path, bool inOwnScope,
			 const ObjectInfo *existing);
// Listing every object (GetManagedObjects), which shows every scope: the host only.
Result<void> checkListAll(const std::string &caller);

} // namespace ipchub::core::access
