#include "peers.hpp"

#include <fstream>
#include <unistd.h>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Message.h>

namespace ipchub::bus {

Result<const Peer *> Peers::identify(const sdbus::Message &message)
{
	const std::string name = message.getSender();
	if (auto it = peers_.find(name); it != peers_.end())
		return &it->second;

	Peer peer;
	peer.name = name;
	try {
		peer.uid = message.getCredsUid();
		peer.pid = message.getCredsPid();
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::PermissionDenied,
			    "the credentials of " + name + " are unknown: " + e.getMessage());
	}
	if (peer.uid != getuid())
		return fail(ErrorCode::PermissionDenied,
			    "caller uid " + std::to_string(peer.uid) + " is not the service's uid " +
				    std::to_string(getuid()));
	peer.appId = flatpakAppId(peer.pid);
	return &peers_.emplace(name, std::move(peer)).first->second;
}

std::string flatpakAppId(pid_t pid)
{
	std::ifstream info("/proc/" + std::to_string(pid) + "/root/.flatpak-info");
	std::string line;
	bool inApplication = false;
	while (std::getline(info, line)) {
		if (line.starts_with('['))
			inApplication = line == "[Application]";
		else if (inApplication && line.starts_with("name="))
			return line.substr(5);
	}
	return {};
}

} // namespace ipchub::bus
