#include "ipchub/client.hpp"

#include <cstdlib>

#include "common/object_path.hpp"
#include "mapping.hpp"
#include "object_properties.hpp"
#include "own_scope.hpp"
#include "proxies.hpp"
#include "received_fd.hpp"

namespace ipchub {

namespace {

using OptionMap = std::map<std::string, sdbus::Variant>;

// The options every Create takes besides its own.
template <typename Options>
OptionMap createOptions(const Options &options)
{
	OptionMap map;
	if (options.openExisting)
		map.emplace("open_existing", sdbus::Variant(true));
	if (options.persistent)
		map.emplace("persistent", sdbus::Variant(true));
	if (!options.allowedApps.empty())
		map.emplace("allowed_apps", sdbus::Variant(options.allowedApps));
	if (options.scope)
		map.emplace("scope", sdbus::Variant(*options.scope));
	return map;
}

OptionMap openOptions(const OpenOptions &options)
{
	OptionMap map;
	if (options.scope)
		map.emplace("scope", sdbus::Variant(*options.scope));
	return map;
}

} // namespace

Client::Client(std::shared_ptr<detail::Session> session) : session_(std::move(session)) {}

Result<Client> Client::connect()
{
	if (detail::needsHandshakeRelay()) {
		const char *address = std::getenv("DBUS_SESSION_BUS_ADDRESS");
		const char *runtimeDir = std::getenv("XDG_RUNTIME_DIR");
		if (address)
			return connect(address);
		if (runtimeDir)
			return connect(std::string("unix:path=") + runtimeDir + "/bus");
	}
	try {
		auto session = std::make_shared<detail::Session>();
		session->connection = sdbus::createSessionBusConnection();
		return Client(std::move(session));
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "cannot connect to the session bus: " + e.getMessage());
	}
}

Result<Client> Client::connect(const std::string &address)
{
	auto session = std::make_shared<detail::Session>();
	std::string busAddress = address;
	if (detail::needsHandshakeRelay()) {
		auto relay = detail::HandshakeRelay::start(address);
		if (!relay)
			return detail::Unexpected<Error>(relay.error());
		session->relay = std::move(*relay);
		busAddress = session->relay->address();
	}
	try {
		session->connection = sdbus::createSessionBusConnectionWithAddress(busAddress);
		return Client(std::move(session));
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed,
			    "cannot connect to the bus at " + address + ": " + e.getMessage());
	}
}

Result<Semaphore> Client::createSemaphore(std::string_view key, uint32_t initial,
					  const SemaphoreOptions &options)
{
	OptionMap map = createOptions(options);
	if (options.max != 0)
		map.emplace("max", sdbus::Variant(options.max));
	if (!options.returnOnExit)
		map.emplace("return_on_exit", sdbus::Variant(false));
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus(
		[&] { return manager.CreateSemaphore(std::string(key), initial, map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Semaphore(session_, *path);
}

Result<Semaphore> Client::openSemaphore(std::string_view key, const OpenOptions &options)
{
	const OptionMap map = openOptions(options);
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus([&] { return manager.OpenSemaphore(std::string(key), map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Semaphore(session_, *path);
}

Result<SharedMemory> Client::createSharedMemory(std::string_view key, uint64_t size,
						const SharedMemoryOptions &options)
{
	OptionMap map = createOptions(options);
	if (options.allowedAppsAccess == Access::ReadWrite)
		map.emplace("allowed_apps_access", sdbus::Variant(std::string("write")));
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto created = detail::callBus([&] {
		auto reply = detail::callForReply(manager.getProxy(),
						  detail::ManagerProxy::INTERFACE_NAME,
						  "CreateSharedMemory", 0, std::string(key), size,
						  map);
		sdbus::ObjectPath path;
		reply >> path;
		UniqueFd fd = detail::readFd(reply);
		auto proxy = std::make_shared<detail::SharedMemoryProxy>(*session_->connection, path);
		return std::tuple(std::string(path), std::move(fd), std::move(proxy));
	});
	if (!created)
		return detail::Unexpected<Error>(created.error());
	auto &[path, fd, proxy] = *created;
	auto mapping = detail::Mapping::map(std::move(fd), size, Access::ReadWrite);
	if (!mapping) {
		(void)detail::callBus([&] { proxy->Close(); });
		return detail::Unexpected<Error>(mapping.error());
	}
	return SharedMemory(session_, path, std::move(proxy), std::move(*mapping),
			    Access::ReadWrite);
}

Result<SharedMemory> Client::openSharedMemory(std::string_view key, Access access,
					      const OpenOptions &options)
{
	const OptionMap map = openOptions(options);
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto opened = detail::callBus([&] {
		std::string path = manager.OpenSharedMemory(std::string(key), map);
		return std::pair(path, std::make_shared<detail::SharedMemoryProxy>(
					       *session_->connection, path));
	});
	if (!opened)
		return detail::Unexpected<Error>(opened.error());
	auto &[path, proxy] = *opened;
	// Drops the reference Open took when the segment cannot be mapped after all.
	auto closeOnError = [&](const Error &error) -> Result<SharedMemory> {
		(void)detail::callBus([&] { proxy->Close(); });
		return detail::Unexpected<Error>(error);
	};
	auto attached = detail::callBus([&] {
		auto reply = detail::callForReply(proxy->getProxy(),
						  detail::SharedMemoryProxy::INTERFACE_NAME,
						  "Attach", 0, access == Access::ReadWrite);
		UniqueFd fd = detail::readFd(reply);
		uint64_t size = 0;
		reply >> size;
		return std::pair(std::move(fd), size);
	});
	if (!attached)
		return closeOnError(attached.error());
	auto &[fd, size] = *attached;
	auto mapping = detail::Mapping::map(std::move(fd), size, access);
	if (!mapping)
		return closeOnError(mapping.error());
	return SharedMemory(session_, path, std::move(proxy), std::move(*mapping), access);
}

Result<Lock> Client::createLock(std::string_view key, const LockOptions &options)
{
	const OptionMap map = createOptions(options);
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus([&] { return manager.CreateLock(std::string(key), map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Lock(session_, *path);
}

Result<Lock> Client::openLock(std::string_view key, const OpenOptions &options)
{
	const OptionMap map = openOptions(options);
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus([&] { return manager.OpenLock(std::string(key), map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Lock(session_, *path);
}

Result<void> Client::remove(const std::string &path)
{
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	return detail::callBus([&] { manager.Remove(sdbus::ObjectPath(path)); });
}

Result<std::vector<ObjectStatus>> Client::listObjects()
{
	auto managed = detail::callBus([&] {
		std::map<sdbus::ObjectPath, detail::InterfaceMap> objects;
		session_->proxy(detail::kManagerPath)
			->callMethod("GetManagedObjects")
			.onInterface("org.freedesktop.DBus.ObjectManager")
			.storeResultsTo(objects);
		return objects;
	});
	if (!managed)
		return detail::Unexpected<Error>(managed.error());
	std::vector<ObjectStatus> objects;
	for (const auto &[path, interfaces] : *managed)
		if (auto status = detail::objectStatus(path, interfaces))
			objects.push_back(std::move(*status));
	return objects;
}

Result<ObjectStatus> Client::status(ObjectKind kind, std::string_view key,
				    const OpenOptions &options)
{
	// GetAll on the object's path, not Open and Close: Close would give back what this
	// connection holds on the object and end a non-persistent one it created. The
	// service applies the scope rules to GetAll as to every call on the path.
	const std::string scope = options.scope ? *options.scope : detail::ownScope();
	const std::string path = common::objectPath(kind, scope, key);
	const std::string interface(common::namesOf(kind).interface);
	return detail::callBus([&] {
		detail::PropertyMap properties;
		try {
			session_->proxy(path)
				->callMethod("GetAll")
				.onInterface("org.freedesktop.DBus.Properties")
				.withArguments(interface)
				.storeResultsTo(properties);
		} catch (const sdbus::Error &e) {
			if (!detail::isUnknownObject(e))
				throw;
			throw sdbus::Error(dbusErrorName(ErrorCode::NotFound),
					   detail::describe(kind, scope, key) + " does not exist");
		}
		return detail::objectStatus(kind, path, properties);
	});
}

std::string Client::uniqueName() const
{
	return session_->connection->getUniqueName();
}

} // namespace ipchub
