// SPDX-License-Identifier: LGPL-2.1-or-later
#include "manager.hpp"

#include "scope.hpp"

namespace ipchub::core {

namespace {

// Where the object goes and whom it is shared with: the key, the scope the caller may
// create in, the allowed apps; and with open_existing, whether the caller may use the
// object there (checked before the reference is taken: a refused call leaves nothing
// behind).
template <typename Object>
Result<ObjectInfo> infoForCreate(const Hub &hub, const ObjectTable<Object> &table,
				 const Caller &caller, const std::string &key,
				 const CreateOptions &options)
{
	if (auto valid = checkKey(key, hub.limits().keyLength); !valid)
		return errorOf(valid);
	if (auto apps = checkAllowedApps(options.allowedApps); !apps)
		return errorOf(apps);
	auto scope = access::scopeForCreate(caller.scope, options.scope);
	if (!scope)
		return errorOf(scope);
	ObjectInfo info{{std::move(*scope), key}, options.allowedApps};
	if (const auto existing = table.find(info.id); existing && options.openExisting)
		if (auto allowed = access::checkUse(caller.scope, existing->info(),
						    table.describe(info.id));
		    !allowed)
			return errorOf(allowed);
	return info;
}

} // namespace

Result<std::shared_ptr<Semaphore>> createSemaphore(Hub &hub, const Caller &caller,
						   const std::string &key,
						   const CreateOptions &options, uint32_t initial,
						   const SemaphoreOptions &semaphore)
{
	auto info = infoForCreate(hub, hub.semaphores, caller, key, options);
	if (!info)
		return errorOf(info);
	return hub.semaphores.create(
		caller.client, info->id, options.openExisting, options.persistent,
		[&]() -> Result<std::shared_ptr<Semaphore>> {
			if (auto ok = Semaphore::check(initial, semaphore); !ok)
				return errorOf(ok);
			if (!semaphore.fast)
				return std::make_shared<Semaphore>(*info, initial, semaphore,
								   hub.quota);
			const uint32_t most = hub.limits().fastUnitsMax;
			if (semaphore.max > most)
				return fail(ErrorCode::LimitExceeded,
					    "option max is " + std::to_string(semaphore.max) +
						    "; a fast semaphore has at most " +
						    std::to_string(most) +
						    " units (fast_units_max)");
			auto page = FastSemaphore::create("ipchub-fast-semaphore", semaphore.max,
							  initial, !semaphore.returnOnExit,
							  hub.fastOwners);
			if (!page)
				return errorOf(page);
			return std::make_shared<Semaphore>(*info, initial, semaphore, hub.quota,
							   std::move(*page));
		});
}

Result<CreatedSegment> createSegment(Hub &hub, const Caller &caller, const std::string &key,
				     const CreateOptions &options, uint64_t size,
				     bool allowedAppsWrite)
{
	auto &table = hub.segments;
	auto info = infoForCreate(hub, table, caller, key, options);
	if (!info)
		return errorOf(info);
	info->allowedAppsWrite = allowedAppsWrite;
	if (const auto existing = table.find(info->id); existing && options.openExisting) {
		// The caller gets a read-write descriptor of it.
		const std::string what = table.describe(info->id);
		if (auto writable = access::checkWrite(caller.scope, existing->info(), what);
		    !writable)
			return errorOf(writable);
		if (existing->size() != size)
			return fail(ErrorCode::InvalidArgument,
				    "size is " + std::to_string(size) + " bytes; the existing " +
					    what + " is " + std::to_string(existing->size()));
		if (existing->sealed())
			return fail(ErrorCode::PermissionDenied,
				    what + " is sealed; open it and attach read-only");
	}
	auto segment = table.create(
		caller.client, info->id, options.openExisting, options.persistent,
		[&]() -> Result<std::shared_ptr<SharedMemory>> {
			// Its memfd goes to the fd store: refused, not silently dropped, when full.
			if (options.persistent)
				if (auto room = hub.storeBudget.checkRoom("a persistent segment");
				    !room)
					return errorOf(room);
			return SharedMemory::create(*info, size, caller.client, hub.quota);
		});
	if (!segment)
		return errorOf(segment);
	auto fd = (*segment)->attach(caller.client, true);
	if (!fd) {
		// The caller got no descriptor, so it gets no reference either.
		table.close(caller.client, info->id);
		return errorOf(fd);
	}
	return CreatedSegment{std::move(*segment), std::move(*fd)};
}

Result<std::shared_ptr<Lock>> createLock(Hub &hub, const Caller &caller, const std::string &key,
					 const CreateOptions &options, bool fast)
{
	auto info = infoForCreate(hub, hub.locks, caller, key, options);
	if (!info)
		return errorOf(info);
	return hub.locks.create(caller.client, info->id, options.openExisting, options.persistent,
				[&]() -> Result<std::shared_ptr<Lock>> {
					if (!fast)
						return std::make_shared<Lock>(*info, hub.quota,
									      &hub.grants);
					auto page = FastLock::create("ipchub-fast-lock", 0,
								     hub.fastOwners);
					if (!page)
						return errorOf(page);
					return std::make_shared<Lock>(*info, hub.quota, &hub.grants,
								      std::move(*page));
				});
}

} // namespace ipchub::core
