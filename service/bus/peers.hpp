#pragma once

#include <string>
#include <sys/types.h>
#include <unordered_map>

#include <ipchub/result.hpp>

namespace sdbus {
class Message;
}

namespace ipchub::bus {

// Who a caller is, computed once per unique name.
struct Peer {
	std::string name;
	uid_t uid = 0;
	pid_t pid = 0;
	// "" for a host caller; the app id of a Flatpak-sandboxed one.
	std::string appId;
};

// The identity of every peer that has called, dropped when it leaves the bus. Peers
// whose uid is not the service's own are refused with PermissionDenied.
class Peers
{
public:
	Result<const Peer *> identify(const sdbus::Message &message);
	void forget(const std::string &name) { peers_.erase(name); }

private:
	std::unordered_map<std::string, Peer> peers_;
};

// The app id in /proc/PID/root/.flatpak-info ([Application] name=), as
// xdg-desktop-portal reads it; "" when the process is not in a Flatpak sandbox.
std::string flatpakAppId(pid_t pid);

} // namespace ipchub::bus
