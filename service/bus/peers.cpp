// SPDX-License-Identifier: LGPL-2.1-or-later
#include "peers.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include "core/process_identity.hpp"

namespace ipchub::bus {

namespace {

// The bus answers at once; this bounds the one wait per new peer if it does not.
constexpr auto kCredentialsTimeout = std::chrono::seconds(5);

// What may pass by the next call: the bus's silence, the service out of descriptors.
bool isPassing(const Error &error)
{
	return error.code == ErrorCode::LimitExceeded || error.code == ErrorCode::Timeout ||
	       error.code == ErrorCode::Failed;
}

// The pidfd of the peer's process: the bus's own where it gives one (dbus-broker,
// dbus-daemon from 1.15), which names the process that connected even after its pid
// is reused; else one opened now for pid, which holds from here on.
Result<UniqueFd> processOf(const std::map<std::string, sdbus::Variant> &credentials, pid_t pid)
{
	auto it = credentials.find("ProcessFD");
	if (it == credentials.end() || it->second.peekValueType() != "h")
		return core::openPidfd(pid);
	auto given = it->second.get<sdbus::UnixFd>();
	UniqueFd fd(fcntl(given.get(), F_DUPFD_CLOEXEC, 3));
	if (!fd)
		return fail(ErrorCode::LimitExceeded,
			    std::string("cannot identify the caller now: ") + std::strerror(errno));
	return fd;
}

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
	if (it == peers_.end()) {
		auto peer = lookUp(name);
		if (!peer && isPassing(peer.error()))
			return errorOf(peer);
		it = peers_.emplace(name, std::move(peer)).first;
	}
	if (it->second && core::hasExited(it->second->process.get()))
		it->second = fail(ErrorCode::PermissionDenied,
				  "the process that opened connection " + name + " (pid " +
					  std::to_string(it->second->pid) +
					  ") has exited; a connection is known by that process "
					  "alone, so this one is refused: connect again");
	if (!it->second)
		return errorOf(it->second);
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
		// A peer that left is refused for good; any other failure may pass.
		const bool left = e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
		return fail(left ? ErrorCode::PermissionDenied : ErrorCode::Failed,
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

	auto process = processOf(credentials, static_cast<pid_t>(*pid));
	auto identity =
		process ? core::identifyProcess(process->get())
			: Result<core::ProcessIdentity>(errorOf(process));
	if (!identity)
		return detail::Unexpected<Error>(
			Error{identity.error().code, name + ": " + identity.error().message});
	return Peer{.name = name,
		    .uid = *uid,
		    .pid = identity->pid,
		    .appId = std::move(identity->appId),
		    .process = std::move(*process)};
}

} // namespace ipchub::bus
