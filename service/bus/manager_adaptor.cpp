#include "manager_adaptor.hpp"

#include "core/scope.hpp"
#include "errors.hpp"
#include "object_path.hpp"

namespace ipchub::bus {

namespace {

constexpr const char *kSemaphore = "semaphore";
constexpr const char *kLock = "lock";

} // namespace

ManagerAdaptor::ManagerAdaptor(sdbus::IConnection &connection, Context context)
	: AdaptorInterfaces(connection, kManagerPath), connection_(connection), context_(context)
{
	context_.hub.semaphores.setRemovedHandler([this](const auto &semaphore) {
		auto it = semaphores_.find(objectPath(kSemaphore, semaphore->id()));
		if (it == semaphores_.end())
			return;
		context_.loop.retire(std::move(it->second));
		semaphores_.erase(it);
	});
	context_.hub.locks.setRemovedHandler([this](const auto &lock) {
		auto it = locks_.find(objectPath(kLock, lock->id()));
		if (it == locks_.end())
			return;
		context_.loop.retire(std::move(it->second));
		locks_.erase(it);
	});
	registerAdaptor();
}

ManagerAdaptor::~ManagerAdaptor()
{
	context_.hub.semaphores.setRemovedHandler(nullptr);
	context_.hub.locks.setRemovedHandler(nullptr);
	semaphores_.clear();
	locks_.clear();
	unregisterAdaptor();
}

const Peer &ManagerAdaptor::caller()
{
	return currentCaller(getObject(), context_.peers);
}

sdbus::ObjectPath ManagerAdaptor::CreateSemaphore(const std::string &key, const uint32_t &initial,
						  const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(options, {{"open_existing", "b"},
							    {"max", "u"},
							    {"persistent", "b"},
							    {"return_on_exit", "b"},
							    {"allowed_apps", "as"},
							    {"scope", "s"}}));
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	core::ObjectInfo info{
		{unwrap(core::scopeForCreate(peer.appId, parsed.get<std::string>("scope"))), key},
		parsed.get<std::vector<std::string>>("allowed_apps", {})};
	const core::SemaphoreOptions semaphoreOptions{
		.max = parsed.get<uint32_t>("max", UINT32_MAX),
		.returnOnExit = parsed.get<bool>("return_on_exit", true),
	};
	auto &table = context_.hub.semaphores;
	const bool openExisting = parsed.get<bool>("open_existing", false);
	if (auto existing = table.find(info.id); existing && openExisting)
		checkAccess(peer, existing->info(), table.describe(info.id));

	auto semaphore = unwrap(table.create(
		peer.name, info.id, openExisting, parsed.get<bool>("persistent", false),
		[&]() -> Result<std::shared_ptr<core::Semaphore>> {
			if (auto ok = core::Semaphore::check(initial, semaphoreOptions); !ok)
				return detail::Unexpected<Error>(ok.error());
			return std::make_shared<core::Semaphore>(info, initial, semaphoreOptions,
								 context_.hub.quota);
		}));
	return publish(semaphore);
}

sdbus::ObjectPath ManagerAdaptor::OpenSemaphore(const std::string &key, const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(options, {{"scope", "s"}}));
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	const core::ObjectKey id{core::scopeForOpen(peer.appId, parsed.get<std::string>("scope")),
				 key};
	auto &table = context_.hub.semaphores;
	auto existing = table.find(id);
	if (!existing && id.scope != peer.appId && !peer.appId.empty())
		throw toDbusError({ErrorCode::PermissionDenied,
				   "app " + peer.appId + " may not use scope \"" + id.scope + "\""});
	if (existing)
		checkAccess(peer, existing->info(), table.describe(id));
	return publish(unwrap(table.open(peer.name, id)));
}

sdbus::ObjectPath ManagerAdaptor::CreateLock(const std::string &key, const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(options, {{"open_existing", "b"},
							    {"persistent", "b"},
							    {"allowed_apps", "as"},
							    {"scope", "s"}}));
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	core::ObjectInfo info{
		{unwrap(core::scopeForCreate(peer.appId, parsed.get<std::string>("scope"))), key},
		parsed.get<std::vector<std::string>>("allowed_apps", {})};
	auto &table = context_.hub.locks;
	const bool openExisting = parsed.get<bool>("open_existing", false);
	if (auto existing = table.find(info.id); existing && openExisting)
		checkAccess(peer, existing->info(), table.describe(info.id));

	auto lock = unwrap(table.create(peer.name, info.id, openExisting,
					parsed.get<bool>("persistent", false),
					[&]() -> Result<std::shared_ptr<core::Lock>> {
						return std::make_shared<core::Lock>(
							info, context_.hub.quota);
					}));
	return publish(lock);
}

sdbus::ObjectPath ManagerAdaptor::OpenLock(const std::string &key, const OptionMap &options)
{
	const Peer &peer = caller();
	const auto parsed = unwrap(Options::parse(options, {{"scope", "s"}}));
	unwrap(core::checkKey(key, context_.hub.limits().keyLength));
	const core::ObjectKey id{core::scopeForOpen(peer.appId, parsed.get<std::string>("scope")),
				 key};
	auto &table = context_.hub.locks;
	auto existing = table.find(id);
	if (!existing && id.scope != peer.appId && !peer.appId.empty())
		throw toDbusError({ErrorCode::PermissionDenied,
				   "app " + peer.appId + " may not use scope \"" + id.scope + "\""});
	if (existing)
		checkAccess(peer, existing->info(), table.describe(id));
	return publish(unwrap(table.open(peer.name, id)));
}

void ManagerAdaptor::Remove(const sdbus::ObjectPath &path)
{
	const Peer &peer = caller();
	if (auto lock = locks_.find(path); lock != locks_.end()) {
		const auto &info = lock->second->lock().info();
		checkAccess(peer, info, context_.hub.locks.describe(info.id));
		unwrap(context_.hub.locks.remove(info.id));
		return;
	}
	auto it = semaphores_.find(path);
	if (it == semaphores_.end())
		throw toDbusError({ErrorCode::NotFound, "no ipchub object at path " + path});
	const auto &info = it->second->semaphore().info();
	checkAccess(peer, info, context_.hub.semaphores.describe(info.id));
	unwrap(context_.hub.semaphores.remove(info.id));
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
	};
}

sdbus::ObjectPath ManagerAdaptor::publish(const std::shared_ptr<core::Semaphore> &semaphore)
{
	std::string path = objectPath(kSemaphore, semaphore->id());
	if (!semaphores_.contains(path))
		semaphores_.emplace(path, std::make_shared<SemaphoreAdaptor>(connection_, path,
									    semaphore, context_));
	return sdbus::ObjectPath(std::move(path));
}

sdbus::ObjectPath ManagerAdaptor::publish(const std::shared_ptr<core::Lock> &lock)
{
	std::string path = objectPath(kLock, lock->id());
	if (!locks_.contains(path))
		locks_.emplace(path,
			       std::make_shared<LockAdaptor>(connection_, path, lock, context_));
	return sdbus::ObjectPath(std::move(path));
}

} // namespace ipchub::bus
