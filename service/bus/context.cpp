#include "context.hpp"

#include <sdbus-c++/IObject.h>
#include <sdbus-c++/Message.h>

#include "core/scope.hpp"
#include "errors.hpp"

namespace ipchub::bus {

const Peer &currentCaller(const sdbus::IObject &object, Peers &peers)
{
	const sdbus::Message *message = object.getCurrentlyProcessedMessage();
	if (!message)
		throw toDbusError({ErrorCode::Failed, "no method call is being processed"});
	return *unwrap(peers.identify(*message));
}

const Peer &currentCaller(const sdbus::IObject &object, const Context &context)
{
	const Peer &peer = currentCaller(object, context.peers);
	enroll(context.hub.quota, peer);
	return peer;
}

void enroll(core::Quota &quota, const Peer &peer)
{
	quota.enroll(peer.name, {static_cast<uint32_t>(peer.uid), peer.appId});
}

void checkPropertyReader(const Peers &peers, const core::ObjectInfo &info, const std::string &what)
{
	const auto &reader = peers.propertyReader();
	if (reader)
		checkAccess(*unwrap(*reader), info, what);
}

void checkAccess(const Peer &caller, const core::ObjectInfo &info, const std::string &what)
{
	if (!core::mayAccess(caller.appId, info.id.scope, info.allowedApps))
		throw toDbusError({ErrorCode::PermissionDenied,
				   "app " + caller.appId + " may not use " + what});
}

} // namespace ipchub::bus
