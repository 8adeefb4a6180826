// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access.hpp"
#include "common/unique_fd.hpp"
#include "hub.hpp"

namespace ipchub::core {

// The rules of the Manager's Create and Open, whatever asks: the key, the scope, who may
// use an existing object, and what each kind checks before it is made. The bus layer
// unpacks the arguments and translates the Result.

// Who asks: its connection, and its scope ("" for the host, else its app id).
struct Caller {
	ClientId client;
	std::string scope;
};

// What every Create takes besides its kind's own options.
struct CreateOptions {
	// The scope option; the caller's own scope when absent.
	std::optional<std::string> scope;
	std::vector<std::string> allowedApps;
	// Open the object if it exists (QSystemSemaphore::Open) instead of AlreadyExists.
	bool openExisting = false;
	bool persistent = false;
};

Result<std::shared_ptr<Semaphore>> createSemaphore(Hub &hub, const Caller &caller,
						   const std::string &key,
						   const CreateOptions &options, uint32_t initial,
						   const SemaphoreOptions &semaphore);

// A shared-memory object created (or opened with open_existing) and the creator's read-write
// descriptor of it.
struct CreatedSharedMemory {
	std::shared_ptr<SharedMemory> sharedMemory;
	UniqueFd fd;
};
// allowedAppsWrite: the listed apps may attach it writable (allowed_apps_access).
// Opening an existing one gives a read-write descriptor too, so it must be the size
// asked for, writable by the caller and not sealed.
Result<CreatedSharedMemory> createSharedMemory(Hub &hub, const Caller &caller,
					       const std::string &key, const CreateOptions &options,
					       uint64_t size, bool allowedAppsWrite);

// fast: a fast lock (a page of futex words shared with its scope's clients).
Result<std::shared_ptr<Lock>> createLock(Hub &hub, const Caller &caller, const std::string &key,
					 const CreateOptions &options, bool fast = false);

// Opens the object of table at key in scope (the caller's own when absent), taking a
// reference for the caller. A sandboxed caller gets the same refusal for an object it
// may not use and for no object (access::checkOpen).
template <typename Object>
Result<std::shared_ptr<Object>> openObject(Hub &hub, ObjectTable<Object> &table,
					   const Caller &caller, const std::string &key,
					   const std::optional<std::string> &scope)
{
	if (auto valid = checkKey(key, hub.limits().keyLength); !valid)
		return errorOf(valid);
	auto resolved = access::scopeForOpen(caller.scope, scope);
	if (!resolved)
		return errorOf(resolved);
	const ObjectKey id{std::move(*resolved), key};
	const auto existing = table.find(id);
	if (auto allowed = access::checkOpen(caller.scope, id.scope,
					     existing ? &existing->info() : nullptr,
					     table.describe(id));
	    !allowed)
		return errorOf(allowed);
	return table.open(caller.client, id);
}

} // namespace ipchub::core
