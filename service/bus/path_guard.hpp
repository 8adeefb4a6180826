// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <optional>
#include <string>

#include "core/hub.hpp"
#include "peers.hpp"
#include "sd_bus_access.hpp"

namespace sdbus {
class IConnection;
}

namespace ipchub::bus {

// Keeps a sandboxed caller to the object paths of its own scope and of the objects it
// may use. sd-bus answers some calls from its table of registered objects, whoever
// asks: Introspect of /io/github/ipchub1/semaphore lists the labels of every scope,
// and on any path the answer (an object's interfaces, or UnknownObject) tells whether
// an object is there. A filter on the connection, which runs before sd-bus looks at a
// call, refuses every method call of a sandboxed caller under a kind's node
// (/io/github/ipchub1/KIND) with PermissionDenied, except on
//   .../KIND/<its app id>[/...]       its own scope, whatever is there or not
//   .../KIND/<key>, .../KIND/<app>/<key>  an object that exists and that it may use,
//                                     at exactly its path; not Introspect of a host
//                                     object whose key is an app id, whose path is
//                                     that app's scope node too
// The refusal is the same whether an object is there or not. Host callers, and the
// Manager's path, are not filtered.
class PathGuard
{
public:
	PathGuard(sdbus::IConnection &connection, Peers &peers, const core::Hub &hub);

	PathGuard(const PathGuard &) = delete;
	PathGuard &operator=(const PathGuard &) = delete;

private:
	static int onMessage(sd_bus_message *message, void *userdata, sd_bus_error *error);
	// Why a caller of app appId may not call path (introspect: with Introspect), or
	// nothing if it may.
	std::optional<std::string> refusal(const std::string &appId, const std::string &path,
					   bool introspect) const;
	bool mayUse(const std::string &appId, ObjectKind kind, const core::ObjectKey &id) const;

	Peers &peers_;
	const core::Hub &hub_;
	SlotPtr slot_;
};

} // namespace ipchub::bus
