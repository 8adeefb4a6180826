#include "manager_adaptor.hpp"

#include "core/access.hpp"
#include "core/scope.hpp"
#include "descriptor_reserve.hpp"
#include "errors.hpp"
#include "object_path.hpp"

namespace ipchub::bus {

namespace {

// The options every Create takes besides its own.
constexpr OptionSpec kOpenExisting{"open_existing", "b"};
constexpr OptionSpec kPersistent{"persistent", "b"};
constexpr OptionSpec kAllowedApps{"allowed_apps", "as"};
constexpr OptionSpec kScope{"scope", "s"};

} // namespace

ManagerAdaptor::ManagerAdaptor(sdbus::IConnection &connection, Context context)
	: AdaptorInterfaces(connection, kManagerPath), connection_(connection), context_(context)
{
	context_.manager = &getObject();
	auto &hub = context_.hub;
	hub.semaphores.setRemovedHandler(
		[this](const auto &object) { semaphores_.retire(context_.loop, *object); });
	hub.segments.setRemovedHandler(
		[this](const auto &object) { segments_.retire(context_.loop, *object); });
	hub.locks.setRemovedHandler(
		[this](const auto &object) { locks_.retire(context_.loop, *object); });
	registerAdaptor();
}

ManagerAdaptor::~ManagerAdaptor()
{
	context_.hub.semaphores.setRemovedHandler(nullptr);
	context_.hub.segments.setRemovedHandler(nullptr);
	context_.hub.locks.setRemovedHandler(nullptr);
	semaphores_.clear();
	segments_.clear();
	locks_.clear();
	unregisterAdaptor();
}

void ManagerAdaptor::publishAll()
{
	for (const auto &semaphore : context_.hub.semaphores.objects())
		semaphores_.publish(connection_, context_, semaphore);
	for (const auto &segment : context_.hub.segments.objects())
		segments_.publish(connection_, context_, segment);
	for (const auto &lock : context_.hub.locks.objects())
		locks_.publish(connection_, context_, lock);
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

core::ObjectInfo ManagerAdaptor::infoForCreate(const Peer &peer, const std::string &key,
					       const Options &parsed)
{
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	auto allowedApps = parsed.get<std::vector<std::string>>("allowed_apps", {});
	unwrap(core::checkAllowedApps(allowedApps));
	return {{unwrap(core::access::scopeForCreate(peer.appId, parsed.get<std::string>("scope"))),
		 key},
		std::move(allowedApps)};
}

template <typename Object>
std::shared_ptr<Object> ManagerAdaptor::open(core::ObjectTable<Object> &table,
					     const std::string &key, const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(options, {kScope}));
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	const core::ObjectKey id{
		unwrap(core::access::scopeForOpen(peer.appId, parsed.get<std::string>("scope"))),
		key};
	auto existing = table.find(id);
	unwrap(core::access::checkOpen(peer.appId, id.scope, existing ? &existing->info() : nullptr,
				       table.describe(id)));
	return unwrap(table.open(peer.name, id));
}

sdbus::ObjectPath ManagerAdaptor::CreateSemaphore(const std::string &key, const uint32_t &initial,
						  const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(
		options, {kOpenExisting, {"max", "u"}, kPersistent, {"return_on_exit", "b"},
			  kAllowedApps, kScope}));
	const core::ObjectInfo info = infoForCreate(peer, key, parsed);
	const core::SemaphoreOptions semaphoreOptions{
		.max = parsed.get<uint32_t>("max", UINT32_MAX),
		.returnOnExit = parsed.get<bool>("return_on_exit", true),
	};
	auto &table = context_.hub.semaphores;
	const bool openExisting = parsed.get<bool>("open_existing", false);
	if (auto existing = table.find(info.id); existing && openExisting)
		unwrap(core::access::checkUse(peer.appId, existing->info(),
					      table.describe(info.id)));

	auto semaphore = unwrap(table.create(
		peer.name, info.id, openExisting, parsed.get<bool>("persistent", false),
		[&]() -> Result<std::shared_ptr<core::Semaphore>> {
			if (auto ok = core::Semaphore::check(initial, semaphoreOptions); !ok)
				return detail::Unexpected<Error>(ok.error());
			return std::make_shared<core::Semaphore>(info, initial, semaphoreOptions,
								 context_.hub.quota);
		}));
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
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(
		options,
		{kOpenExisting, kPersistent, kAllowedApps, {"allowed_apps_access", "s"}, kScope}));
	core::ObjectInfo info = infoForCreate(peer, key, parsed);
	// Listed apps read unless the creator says they may write.
	info.allowedAppsWrite = unwrap(core::parseAllowedAppsAccess(
		parsed.get<std::string>("allowed_apps_access", "read")));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
				      "a shared-memory segment"));
	auto &table = context_.hub.segments;
	const bool openExisting = parsed.get<bool>("open_existing", false);
	if (auto existing = table.find(info.id); existing && openExisting) {
		// Checked before the reference is taken: a failed call leaves nothing behind.
		// The caller gets a read-write descriptor.
		unwrap(core::access::checkUse(peer.appId, existing->info(),
					      table.describe(info.id)));
		unwrap(core::access::checkWrite(peer.appId, existing->info(),
						table.describe(info.id)));
		if (existing->size() != size)
			throw toDbusError({ErrorCode::InvalidArgument,
					   "size is " + std::to_string(size) + " bytes; the existing " +
						   table.describe(info.id) + " is " +
						   std::to_string(existing->size())});
		if (existing->sealed())
			throw toDbusError({ErrorCode::PermissionDenied,
					   table.describe(info.id) +
						   " is sealed; open it and attach read-only"});
	}

	const bool persistent = parsed.get<bool>("persistent", false);
	const auto make = [&]() -> Result<std::shared_ptr<core::SharedMemory>> {
		// Its memfd goes to the fd store: refused, not silently dropped, when full.
		if (persistent)
			if (auto room = context_.hub.storeBudget.checkRoom("a persistent segment");
			    !room)
				return detail::Unexpected<Error>(room.error());
		return core::SharedMemory::create(info, size, peer.name, context_.hub.quota);
	};
	auto segment = unwrap(table.create(peer.name, info.id, openExisting, persistent, make));
	auto fd = segment->attach(peer.name, true);
	if (!fd) {
		// The caller got no descriptor, so it gets no reference either.
		table.close(peer.name, info.id);
		throw toDbusError(fd.error());
	}
	return {joined(segments_.publish(connection_, context_, segment)),
		toUnixFd(std::move(*fd))};
}

sdbus::ObjectPath ManagerAdaptor::OpenSharedMemory(const std::string &key,
						   const OptionMap &options)
{
	return joined(segments_.publish(connection_, context_,
					open(context_.hub.segments, key, options)));
}

sdbus::ObjectPath ManagerAdaptor::CreateLock(const std::string &key, const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(
		Options::parse(options, {kOpenExisting, kPersistent, kAllowedApps, kScope}));
	const core::ObjectInfo info = infoForCreate(peer, key, parsed);
	auto &table = context_.hub.locks;
	const bool openExisting = parsed.get<bool>("open_existing", false);
	if (auto existing = table.find(info.id); existing && openExisting)
		unwrap(core::access::checkUse(peer.appId, existing->info(),
					      table.describe(info.id)));

	auto lock = unwrap(table.create(peer.name, info.id, openExisting,
					parsed.get<bool>("persistent", false),
					[&]() -> Result<std::shared_ptr<core::Lock>> {
						return std::make_shared<core::Lock>(
							info, context_.hub.quota,
							&context_.hub.grants);
					}));
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
	for (const char *kind : {"semaphore", "shm", "lock"})
		if (path.starts_with(scopePath(kind, scope) + "/"))
			return true;
	return false;
}

void ManagerAdaptor::Remove(const sdbus::ObjectPath &path)
{
	const Peer &peer = caller();
	auto &hub = context_.hub;
	const auto semaphore = semaphores_.find(path);
	const auto segment = semaphore ? nullptr : segments_.find(path);
	const auto lock = semaphore || segment ? nullptr : locks_.find(path);
	const core::ObjectInfo *existing = semaphore ? &semaphore->info()
					   : segment ? &segment->info()
					   : lock    ? &lock->info()
						     : nullptr;
	unwrap(core::access::checkRemove(peer.appId, path, inScope(path, peer.appId), existing));
	if (semaphore)
		unwrap(hub.semaphores.remove(semaphore->id()));
	else if (segment)
		unwrap(hub.segments.remove(segment->id()));
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
	return {
		{"key_length", sdbus::Variant(limits.keyLength)},
		{"objects_per_connection", sdbus::Variant(limits.objectsPerConnection)},
		{"waits_per_connection", sdbus::Variant(limits.waitsPerConnection)},
		{"waiters_per_object", sdbus::Variant(limits.waitersPerObject)},
		{"segment_size", sdbus::Variant(limits.segmentSize)},
		{"bytes_per_connection", sdbus::Variant(limits.bytesPerConnection)},
		{"interested_peers_per_object", sdbus::Variant(limits.interestedPeersPerObject)},
		{"interests_per_connection", sdbus::Variant(limits.interestsPerConnection)},
		{"unread_signals_per_connection",
		 sdbus::Variant(limits.unreadSignalsPerConnection)},
		{"grants_per_connection", sdbus::Variant(limits.grantsPerConnection)},
		{"grants_total", sdbus::Variant(limits.grantsTotal)},
		{"handles_per_connection", sdbus::Variant(limits.handlesPerConnection)},
		{"handles_total", sdbus::Variant(limits.handlesTotal)},
		{"descriptor_reserve", sdbus::Variant(limits.descriptorReserve)},
		{"objects_per_uid", sdbus::Variant(limits.objectsPerUid)},
		{"objects_per_app", sdbus::Variant(limits.objectsPerApp)},
		{"waits_per_uid", sdbus::Variant(limits.waitsPerUid)},
		{"waits_per_app", sdbus::Variant(limits.waitsPerApp)},
		{"grants_per_uid", sdbus::Variant(limits.grantsPerUid)},
		{"grants_per_app", sdbus::Variant(limits.grantsPerApp)},
		{"bytes_per_uid", sdbus::Variant(limits.bytesPerUid)},
		{"bytes_per_app", sdbus::Variant(limits.bytesPerApp)},
		{"persistent_objects_per_uid", sdbus::Variant(limits.persistentObjectsPerUid)},
		{"persistent_objects_per_app", sdbus::Variant(limits.persistentObjectsPerApp)},
		{"persistent_bytes_per_uid", sdbus::Variant(limits.persistentBytesPerUid)},
		{"persistent_bytes_per_app", sdbus::Variant(limits.persistentBytesPerApp)},
		{"state_bytes", sdbus::Variant(limits.stateBytes)},
		{"fd_store_max", sdbus::Variant(limits.fdStoreMax)},
	};
}

} // namespace ipchub::bus
