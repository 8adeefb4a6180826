#include "peers.hpp"

#include <chrono>
#include <map>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include "core/flatpak_info.hpp"

namespace ipchub::bus {

namespace {

// The bus answers at once; this bounds the one wait per new peer if it does not.
constexpr auto kCredentialsTimeout = std::chrono::seconds(5);

} // namespace

Peers::Peers(sdbus::IConnection &connection)
	: bus_(sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus"))
{
}

Peers::~Peers() = default;

Result<const Peer *> Peers::identify(const sdbus::Message &message)
{
	return identify(message.getSender());
}

Result<const Peer *> Peers::identify(const std::string &name)
{
	auto it = peers_.find(name);
	if (it == peers_.end())
		it = peers_.emplace(name, lookUp(name)).first;
	if (!it->second)
		return detail::Unexpected<Error>(it->second.error());
	return &*it->second;
}

Result<Peer> Peers::lookUp(const std::string &name)
{
	// As xdg-desktop-portal does: the bus's word on the peer's uid and pid (sd-bus's
	// Message::getCredsUid/Pid would ask once per field), then the pid's root.
	std::map<std::string, sdbus::Variant> credentials;
	try {
		auto call =
			bus_->createMethodCall("org.freedesktop.DBus", "GetConnectionCredentials");
		call << name;
		auto reply = bus_->callMethod(call, kCredentialsTimeout);
		reply >> credentials;
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::PermissionDenied,
			    "the credentials of " + name + " are unknown: " + e.getMessage());
	}
	const auto field = [&](const char *key) -> std::optional<uint32_t> {
		auto it = credentials.find(key);
		if (it == credentials.end() || it->second.peekValueType() != "u")
			return std::nullopt;
		return it->second.get<uint32_t>();
	};
	const auto uid = field("UnixUserID");
	const auto pid = field("ProcessID");
	if (!uid || !pid)
		return fail(ErrorCode::PermissionDenied,
			    "the bus does not tell the uid and pid of " + name);
	if (*uid != getuid())
		return fail(ErrorCode::PermissionDenied, "caller uid " + std::to_string(*uid) +
								 " is not the service's uid " +
								 std::to_string(getuid()));

	Peer peer{.name = name, .uid = *uid, .pid = static_cast<pid_t>(*pid), .appId = {}};
	auto appId = core::appIdOfProcess(peer.pid);
	if (!appId)
		return detail::Unexpected<Error>(
			Error{appId.error().code, name + ": " + appId.error().message});
	peer.appId = std::move(*appId);
	return peer;
}

} // namespace ipchub::bus
