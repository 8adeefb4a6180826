#pragma once

#include <string>

#include "core/hub.hpp"
#include "event_loop.hpp"
#include "peers.hpp"

namespace sdbus {
class IObject;
}

namespace ipchub::bus {

// What every adaptor works with: the core state, who the callers are, and the loop
// that carries timers.
struct Context {
	core::Hub &hub;
	Peers &peers;
	EventLoop &loop;
	// The object manager (/io/github/ipchub1), which sends InterfacesAdded/Removed.
	sdbus::IObject *manager = nullptr;
};

// The peer behind the method call object is handling now; throws PermissionDenied
// for a caller that may not use the service.
const Peer &currentCaller(const sdbus::IObject &object, Peers &peers);
// The same, and from now on what the peer uses counts against its account (its uid's
// host budget, or its app id's).
const Peer &currentCaller(const sdbus::IObject &object, const Context &context);
void enroll(core::Quota &quota, const Peer &peer);

// For property getters: throws PermissionDenied unless the peer reading properties now
// (if any) may see the object described by info.
void checkPropertyReader(const Peers &peers, const core::ObjectInfo &info, const std::string &what);

// Throws PermissionDenied unless caller may act on the object described by info.
void checkAccess(const Peer &caller, const core::ObjectInfo &info, const std::string &what);

} // namespace ipchub::bus
