// SPDX-License-Identifier: LGPL-2.1-or-later
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
// The same, and from now on what the peer uses counts against its account (its uid's
// host budget, or its app id's).
const Peer &currentCaller(const sdbus::IObject &object, const Context &context);
void enroll(core::Quota &quota, const Peer &peer);

// For property getters: throws PermissionDenied unless the peer reading properties now
// (if any) may see the object described by info (core::access::checkUse).
void checkPropertyReader(const Peers &peers, const core::ObjectInfo &info, const std::string &what);

// Holders as a viewer sees them (core::access::maySeeHolder): in full by the host and
// by the holder's own scope; by a sandboxed viewer of another scope only as the
// holder's scope ("host" or its app id), without the unique name or PID of a
// connection that is not its own app's.
// viewer is nullptr for the service's own reads (shown in full).
bool seesHolderDetails(const Peer *viewer, const std::string &holderScope);
// A holder shown without details: "host" or its app id; "unknown" for a connection
// not identified since a restart (holderScope nullptr).
std::string holderLabel(const std::string *holderScope);
// The peer whose Get, GetAll or GetManagedObjects is being handled, nullptr if none.
const Peer *propertyViewer(const Peers &peers);
// The unique name of a holder as viewer may see it.
std::string holderName(const Peers &peers, const Peer *viewer, const std::string &holder);

} // namespace ipchub::bus
