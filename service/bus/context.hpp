#pragma once

#include <string>

#include "core/hub.hpp"
#include "delivery.hpp"
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
	// Who is told of each object's changes, and the sending of them.
	Delivery &delivery;
	// The object manager (/io/github/ipchub1), which sends InterfacesAdded/Removed.
	sdbus::IObject *manager = nullptr;
};

// The peer behind the method call object is handling now; throws PermissionDenied
// for a caller that may not use the service.
const Peer &currentCaller(const sdbus::IObject &object, Peers &peers);

// For property getters: throws PermissionDenied unless the peer reading properties now
// (if any) may see the object described by info.
void checkPropertyReader(const Peers &peers, const core::ObjectInfo &info, const std::string &what);

// Throws PermissionDenied unless caller may act on the object described by info.
void checkAccess(const Peer &caller, const core::ObjectInfo &info, const std::string &what);

} // namespace ipchub::bus
