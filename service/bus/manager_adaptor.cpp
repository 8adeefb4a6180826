// SPDX-License-Identifier: LGPL-2.1-or-later
#include "manager_adaptor.hpp"

#include "common/object_path.hpp"
#include "core/access.hpp"
#include "core/limit_table.hpp"
#include "core/manager.hpp"
#include "core/scope.hpp"
#include "descriptor_reserve.hpp"
#include "errors.hpp"

namespace ipchub::bus {

namespace {

// The options every Create takes besides its own.
constexpr OptionSpec kOpenExisting{"open_existing", "b"};
constexpr OptionSpec kPersistent{"persistent", "b"};
constexpr OptionSpec kAllowedApps{"allowed_apps", "as"};
constexpr OptionSpec kScope{"scope", "s"};
constexpr OptionSpec kFast{"fast", "b"};

} // namespace

ManagerAdaptor::ManagerAdaptor(sdbus::IConnection &connection, Context context)
	: AdaptorInterfaces(connection, common::kManagerPath), connection_(connection),
	  context_(context)
{
	context_.manager = &getObject();
	context_.hub.observers.add(*this);
	registerAdaptor();
}

ManagerAdaptor::~ManagerAdaptor()
{
	context_.hub.observers.remove(*this);
	semaphores_.clear();
	sharedMemories_.clear();
	locks_.clear();
	unregisterAdaptor();
}

void ManagerAdaptor::publishAll()
{
	for (const auto &semaphore : context_.hub.semaphores.objects())
		semaphores_.publish(connection_, context_, semaphore);
	for (const auto &sharedMemory : context_.hub.sharedMemories.objects())
		sharedMemories_.publish(connection_, context_, sharedMemory);
	for (const auto &lock : context_.hub.locks.objects())
		locks_.publish(connection_, context_, lock);
}

void ManagerAdaptor::removed(core::ObjectKind kind, const core::ObjectKey &id)
{
	switch (kind) {
	case core::ObjectKind::Semaphore:
		return semaphores_.retire(context_.loop, id);
	case core::ObjectKind::SharedMemory:
		return sharedMemories_.retire(context_.loop, id);
	case core::ObjectKind::Lock:
		return locks_.retire(context_.loop, id);
	}
}

void ManagerAdaptor::changed(core::ObjectKind kind, const core::ObjectKey &id)
{
	switch (kind) {
	case core::ObjectKind::Semaphore:
		return semaphores_.changed(id);
	case core::ObjectKind::SharedMemory:
		return sharedMemories_.changed(id);
	case core::ObjectKind::Lock:
		return locks_.changed(id);
	}
}

const Peer &ManagerAdaptor::caller()
{
	return currentCaller(getObject(), context_);
}

sdbus::ObjectPath ManagerAdaptor::joined(sdbus::ObjectPath path)
{
	// Who creates or opens an object is told of its changes (within the bounds).
	context_.delivery.interests().join(path, caller());
	return path;
}

core::Caller ManagerAdaptor::coreCaller()
{
	const Peer &peer = caller();
	return {peer.name, peer.appId};
}

core::CreateOptions ManagerAdaptor::createOptions(const Options &parsed)
{
	return {
		.scope = parsed.get<std::string>("scope"),
		.allowedApps = parsed.get<std::vector<std::string>>("allowed_apps", {}),
		.openExisting = parsed.get<bool>("open_existing", false),
		.persistent = parsed.get<bool>("persistent", false),
	};
}

template <typename Object>
std::shared_ptr<Object> ManagerAdaptor::open(core::ObjectTable<Object> &table,
					     const std::string &key, const OptionMap &options)
{
	const auto who = coreCaller();
	const auto parsed = unwrap(Options::parse(options, {kScope}));
	return unwrap(
		core::openObject(context_.hub, table, who, key, parsed.get<std::string>("scope")));
}

sdbus::ObjectPath ManagerAdaptor::CreateSemaphore(const std::string &key, const uint32_t &initial,
						  const OptionMap &options)
{
	const auto who = coreCaller();
	const auto parsed = unwrap(Options::parse(options, {kOpenExisting,
							    {"max", "u"},
							    kPersistent,
							    {"return_on_exit", "b"},
							    kAllowedApps,
							    kScope,
							    kFast}));
	const bool fast = parsed.get<bool>("fast", false);
	// A fast semaphore's units are words of its page: its max defaults to their limit.
	const uint32_t defaultMax = fast ? context_.hub.limits().fastUnitsMax : UINT32_MAX;
	const core::SemaphoreOptions semaphoreOptions{
		.max = parsed.get<uint32_t>("max", defaultMax),
		.returnOnExit = parsed.get<bool>("return_on_exit", true),
		.fast = fast,
	};
	// A fast object's page is a descriptor ipchubd keeps for as long as the object lives.
	if (fast)
		unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
					      "a fast page"));
	auto semaphore = unwrap(core::createSemaphore(context_.hub, who, key, createOptions(parsed),
						      initial, semaphoreOptions));
	return joined(semaphores_.publish(connection_, context_, semaphore));
}

sdbus::ObjectPath ManagerAdaptor::OpenSemaphore(const std::string &key, const OptionMap &options)
{
	return joined(semaphores_.publish(connection_, context_,
					  open(context_.hub.semaphores, key, options)));
}

std::tuple<sdbus::ObjectPath, sdbus::UnixFd>
ManagerAdaptor::CreateSharedMemory(const std::string &key, const uint64_t &size,
				   const OptionMap &options)
{
	const auto who = coreCaller();
	const auto parsed = unwrap(Options::parse(
		options,
		{kOpenExisting, kPersistent, kAllowedApps, {"allowed_apps_access", "s"}, kScope}));
	// Listed apps read unless the creator says they may write.
	const bool allowedAppsWrite = unwrap(core::parseAllowedAppsAccess(
		parsed.get<std::string>("allowed_apps_access", "read")));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
				      "a shared-memory object"));
	auto created =
		unwrap(core::createSharedMemory(context_.hub, who, key, createOptions(parsed), size,
						allowedAppsWrite));
	return {joined(sharedMemories_.publish(connection_, context_, created.sharedMemory)),
		toUnixFd(std::move(created.fd))};
}

sdbus::ObjectPath ManagerAdaptor::OpenSharedMemory(const std::string &key, const OptionMap &options)
{
	return joined(sharedMemories_.publish(connection_, context_,
					      open(context_.hub.sharedMemories, key, options)));
}

sdbus::ObjectPath ManagerAdaptor::CreateLock(const std::string &key, const OptionMap &options)
{
	const auto who = coreCaller();
	const auto parsed = unwrap(
		Options::parse(options, {kOpenExisting, kPersistent, kAllowedApps, kScope, kFast}));
	const bool fast = parsed.get<bool>("fast", false);
	if (fast)
		unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
					      "a fast page"));
	auto lock = unwrap(core::createLock(context_.hub, who, key, createOptions(parsed), fast));
	return joined(locks_.publish(connection_, context_, lock));
}

sdbus::ObjectPath ManagerAdaptor::OpenLock(const std::string &key, const OptionMap &options)
{
	return joined(
		locks_.publish(connection_, context_, open(context_.hub.locks, key, options)));
}

bool ManagerAdaptor::inScope(const std::string &path, const std::string &scope)
{
	// The objects of an app's scope are below its node of a kind, never at it: a host
	// object whose key is the app id has the node's path.
	for (const auto &kind : common::kKinds)
		if (path.starts_with(common::scopePath(kind.kind, scope) + "/"))
			return true;
	return false;
}

void ManagerAdaptor::Remove(const sdbus::ObjectPath &path)
{
	const Peer &peer = caller();
	auto &hub = context_.hub;
	const auto semaphore = semaphores_.find(path);
	const auto sharedMemory = semaphore ? nullptr : sharedMemories_.find(path);
	const auto lock = semaphore || sharedMemory ? nullptr : locks_.find(path);
	const core::ObjectInfo *existing = semaphore	  ? &semaphore->info()
					   : sharedMemory ? &sharedMemory->info()
					   : lock	  ? &lock->info()
							  : nullptr;
	unwrap(core::access::checkRemove(peer.appId, path, inScope(path, peer.appId), existing));
	if (semaphore)
		unwrap(hub.semaphores.remove(semaphore->id()));
	else if (sharedMemory)
		unwrap(hub.sharedMemories.remove(sharedMemory->id()));
	else
		unwrap(hub.locks.remove(lock->id()));
}

std::string ManagerAdaptor::Version()
{
	return IPCHUB_VERSION;
}

std::map<std::string, sdbus::Variant> ManagerAdaptor::Limits()
{
	const auto &limits = context_.hub.limits();
	std::map<std::string, sdbus::Variant> values;
	for (const auto &limit : core::limitTable())
		values.emplace(limit.name, limit.bytes ? sdbus::Variant(limits.*limit.bytes)
						       : sdbus::Variant(limits.*limit.count));
	return values;
}

} // namespace ipchub::bus
