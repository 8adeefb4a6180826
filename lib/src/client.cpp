#include "ipchub/client.hpp"

#include "proxies.hpp"

namespace ipchub {

namespace {

using OptionMap = std::map<std::string, sdbus::Variant>;

} // namespace

Client::Client(std::shared_ptr<detail::Session> session) : session_(std::move(session)) {}

Result<Client> Client::connect()
{
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
	try {
		auto session = std::make_shared<detail::Session>();
		session->connection = sdbus::createSessionBusConnectionWithAddress(address);
		return Client(std::move(session));
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed,
			    "cannot connect to the bus at " + address + ": " + e.getMessage());
	}
}

Result<Semaphore> Client::createSemaphore(std::string_view key, uint32_t initial,
					  const SemaphoreOptions &options)
{
	OptionMap map;
	if (options.openExisting)
		map.emplace("open_existing", sdbus::Variant(true));
	if (options.max != 0)
		map.emplace("max", sdbus::Variant(options.max));
	if (options.persistent)
		map.emplace("persistent", sdbus::Variant(true));
	if (!options.returnOnExit)
		map.emplace("return_on_exit", sdbus::Variant(false));
	if (!options.allowedApps.empty())
		map.emplace("allowed_apps", sdbus::Variant(options.allowedApps));
	if (!options.scope.empty())
		map.emplace("scope", sdbus::Variant(options.scope));
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus(
		[&] { return manager.CreateSemaphore(std::string(key), initial, map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Semaphore(session_, *path);
}

Result<Semaphore> Client::openSemaphore(std::string_view key, const OpenOptions &options)
{
	OptionMap map;
	if (!options.scope.empty())
		map.emplace("scope", sdbus::Variant(options.scope));
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus([&] { return manager.OpenSemaphore(std::string(key), map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Semaphore(session_, *path);
}

Result<Lock> Client::createLock(std::string_view key, const LockOptions &options)
{
	OptionMap map;
	if (options.openExisting)
		map.emplace("open_existing", sdbus::Variant(true));
	if (options.persistent)
		map.emplace("persistent", sdbus::Variant(true));
	if (!options.allowedApps.empty())
		map.emplace("allowed_apps", sdbus::Variant(options.allowedApps));
	if (!options.scope.empty())
		map.emplace("scope", sdbus::Variant(options.scope));
	detail::ManagerProxy manager(*session_->connection, detail::kManagerPath);
	auto path = detail::callBus([&] { return manager.CreateLock(std::string(key), map); });
	if (!path)
		return detail::Unexpected<Error>(path.error());
	return Lock(session_, *path);
}

Result<Lock> Client::openLock(std::string_view key, const OpenOptions &options)
{
	OptionMap map;
	if (!options.scope.empty())
		map.emplace("scope", sdbus::Variant(options.scope));
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

std::string Client::uniqueName() const
{
	return session_->connection->getUniqueName();
}

} // namespace ipchub
