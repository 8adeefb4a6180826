// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/client.hpp"

#include <cstdlib>

#include "common/object_path.hpp"
#include "fast_attach.hpp"
#include "mapping.hpp"
#include "object_properties.hpp"
#include "own_scope.hpp"
#include "proxies.hpp"
#include "received_fd.hpp"

namespace ipchub {

namespace {

constexpr const char *kManager = detail::ManagerProxy::INTERFACE_NAME;

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

Client::Client(std::shared_ptr<detail::Session> session) : session_(std::move(session))
{
}

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
		return fail(ErrorCode::Failed,
			    "cannot connect to the session bus: " + e.getMessage());
	}
}

Result<Client> Client::connect(const std::string &address)
{
	auto session = std::make_shared<detail::Session>();
	std::string busAddress = address;
	if (detail::needsHandshakeRelay()) {
		auto relay = detail::HandshakeRelay::start(address);
		if (!relay)
			return errorOf(relay);
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

namespace {

// Calls a Manager method that takes a key (and an initial value) with options and
// answers an object path.
Result<std::string> managerCall(detail::Session &session, const char *method,
				const std::string &key, const std::optional<uint32_t> &initial,
				const OptionMap &options)
{
	detail::Session::Held held(session);
	auto &manager = session.manager(held);
	auto make = initial ? detail::methodCall(manager, kManager, method, key, *initial, options)
			    : detail::methodCall(manager, kManager, method, key, options);
	sdbus::ObjectPath path;
	auto reply = session.call(held, manager, make, session.callDeadline());
	if (auto read = detail::readValues(reply, path); !read)
		return errorOf(read);
	return std::string(path);
}

} // namespace

Result<Semaphore> Client::createSemaphore(std::string_view key, uint32_t initial,
					  const SemaphoreOptions &options)
{
	OptionMap map = createOptions(options);
	if (options.max != 0)
		map.emplace("max", sdbus::Variant(options.max));
	if (!options.returnOnExit)
		map.emplace("return_on_exit", sdbus::Variant(false));
	if (options.fast)
		map.emplace("fast", sdbus::Variant(true));
	auto path = managerCall(*session_, "CreateSemaphore", std::string(key), initial, map);
	if (!path)
		return errorOf(path);
	Semaphore semaphore(session_, *path);
	// A new semaphore is fast only if asked; an existing one may be either way.
	if (options.fast || options.openExisting)
		if (auto attached = detail::attachFast(session_, semaphore.proxy_); !attached)
			return errorOf(attached);
	return semaphore;
}

// The create and open calls of the three kinds parallel each other on purpose: each
// its own Manager method, options and object type.
Result<Semaphore> Client::openSemaphore(std::string_view key, const OpenOptions &options)
{
	auto path = managerCall(*session_, "OpenSemaphore", std::string(key), std::nullopt,
				openOptions(options));
	if (!path)
		return errorOf(path);
	Semaphore semaphore(session_, *path);
	if (auto attached = detail::attachFast(session_, semaphore.proxy_); !attached)
		return errorOf(attached);
	return semaphore;
}

Result<SharedMemory> Client::createSharedMemory(std::string_view key, uint64_t size,
						const SharedMemoryOptions &options)
{
	OptionMap map = createOptions(options);
	if (options.allowedAppsAccess == Access::ReadWrite)
		map.emplace("allowed_apps_access", sdbus::Variant(std::string("write")));
	std::string path;
	UniqueFd fd;
	{
		detail::Session::Held held(*session_);
		auto &manager = session_->manager(held);
		auto reply =
			session_->call(held, manager,
				       detail::methodCall(manager, kManager, "CreateSharedMemory",
							  std::string(key), size, map),
				       session_->callDeadline());
		if (!reply)
			return errorOf(reply);
		try {
			sdbus::ObjectPath objectPath;
			*reply >> objectPath;
			fd = detail::readFd(*reply);
			path = objectPath;
		} catch (const sdbus::Error &e) {
			return fail(ErrorCode::Failed,
				    "unexpected reply from ipchubd: " + e.getMessage());
		}
	}
	// Closing it drops the reference Create took when the shared-memory object cannot be
	// mapped.
	SharedMemory sharedMemory(session_, path, Access::ReadWrite);
	auto mapping = detail::Mapping::map(std::move(fd), size, Access::ReadWrite);
	if (!mapping)
		return errorOf(mapping);
	sharedMemory.mapping_ = std::move(*mapping);
	return sharedMemory;
}

Result<SharedMemory> Client::openSharedMemory(std::string_view key, Access access,
					      const OpenOptions &options)
{
	auto path = managerCall(*session_, "OpenSharedMemory", std::string(key), std::nullopt,
				openOptions(options));
	if (!path)
		return errorOf(path);
	// Closing it drops the reference Open took when the shared-memory object cannot be mapped.
	SharedMemory sharedMemory(session_, *path, access);
	UniqueFd fd;
	uint64_t size = 0;
	{
		detail::Session::Held held(*session_);
		auto &bus = sharedMemory.proxy_->getProxy();
		auto reply =
			session_->call(held, bus,
				       detail::methodCall(bus,
							  detail::SharedMemoryProxy::INTERFACE_NAME,
							  "Attach", access == Access::ReadWrite),
				       session_->callDeadline());
		if (!reply)
			return errorOf(reply);
		try {
			fd = detail::readFd(*reply);
			*reply >> size;
		} catch (const sdbus::Error &e) {
			return fail(ErrorCode::Failed,
				    "unexpected reply from ipchubd: " + e.getMessage());
		}
	}
	auto mapping = detail::Mapping::map(std::move(fd), size, access);
	if (!mapping)
		return errorOf(mapping);
	sharedMemory.mapping_ = std::move(*mapping);
	return sharedMemory;
}

// Parallels createSemaphore and openSemaphore on purpose (see there).
Result<Lock> Client::createLock(std::string_view key, const LockOptions &options)
{
	OptionMap map = createOptions(options);
	if (options.fast)
		map.emplace("fast", sdbus::Variant(true));
	auto path = managerCall(*session_, "CreateLock", std::string(key), std::nullopt, map);
	if (!path)
		return errorOf(path);
	Lock lock(session_, *path);
	// A new lock is fast only if asked; an existing one may be either way.
	if (options.fast || options.openExisting)
		if (auto attached = detail::attachFast(session_, lock.proxy_); !attached)
			return errorOf(attached);
	return lock;
}

Result<Lock> Client::openLock(std::string_view key, const OpenOptions &options)
{
	auto path = managerCall(*session_, "OpenLock", std::string(key), std::nullopt,
				openOptions(options));
	if (!path)
		return errorOf(path);
	Lock lock(session_, *path);
	if (auto attached = detail::attachFast(session_, lock.proxy_); !attached)
		return errorOf(attached);
	return lock;
}

Result<void> Client::remove(const std::string &path)
{
	detail::Session::Held held(*session_);
	auto &manager = session_->manager(held);
	return detail::readReply<void>(
		session_->call(held, manager,
			       detail::methodCall(manager, kManager, "Remove",
						  sdbus::ObjectPath(path)),
			       session_->callDeadline()));
}

Result<std::vector<ObjectStatus>> Client::listObjects()
{
	std::map<sdbus::ObjectPath, detail::InterfaceMap> managed;
	{
		detail::Session::Held held(*session_);
		auto &manager = session_->manager(held);
		auto reply = session_->call(held, manager,
					    detail::methodCall(manager,
							       "org.freedesktop.DBus.ObjectManager",
							       "GetManagedObjects"),
					    session_->callDeadline());
		if (auto read = detail::readValues(reply, managed); !read)
			return errorOf(read);
	}
	std::vector<ObjectStatus> objects;
	for (const auto &[path, interfaces] : managed)
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
	detail::Session::Held held(*session_);
	auto proxy = session_->proxy(path);
	auto reply = session_->call(held, *proxy,
				    detail::methodCall(*proxy, "org.freedesktop.DBus.Properties",
						       "GetAll", interface),
				    session_->callDeadline());
	// No object at the path at all, or a node that only holds other objects (a host
	// key that is an app id names that app's scope node).
	if (!reply && reply.error().code == ErrorCode::NotFound)
		return fail(ErrorCode::NotFound,
			    detail::describe(kind, scope, key) + " does not exist");
	detail::PropertyMap properties;
	if (auto read = detail::readValues(reply, properties); !read)
		return errorOf(read);
	return detail::objectStatus(kind, path, properties);
}

std::string Client::uniqueName() const
{
	detail::Session::Held held(*session_);
	return session_->connection->getUniqueName();
}

void Client::setCallTimeout(std::chrono::microseconds timeout)
{
	detail::Session::Held held(*session_);
	session_->setCallTimeout(timeout);
}

int Client::fd() const
{
	detail::Session::Held held(*session_);
	return session_->loopFd(held);
}

Result<void> Client::process()
{
	return session_->process();
}

std::optional<std::chrono::microseconds> Client::nextTimeout() const
{
	detail::Session::Held held(*session_);
	return session_->nextTimeout(held);
}

} // namespace ipchub
