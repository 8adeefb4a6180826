// SPDX-License-Identifier: LGPL-2.1-or-later
#include "context.hpp"

#include <sdbus-c++/IObject.h>
#include <sdbus-c++/Message.h>

#include "core/access.hpp"
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
		unwrap(core::access::checkUse(unwrap(*reader)->appId, info, what));
}

bool seesHolderDetails(const Peer *viewer, const std::string &holderScope)
{
	return !viewer || core::access::maySeeHolder(viewer->appId, holderScope);
}

std::string holderLabel(const std::string *holderScope)
{
	if (!holderScope)
		return "unknown";
	return holderScope->empty() ? "host" : *holderScope;
}

const Peer *propertyViewer(const Peers &peers)
{
	const auto &reader = peers.propertyReader();
	return reader && *reader ? **reader : nullptr;
}

std::string holderName(const Peers &peers, const Peer *viewer, const std::string &holder)
{
	if (!viewer || core::access::seesEveryScope(viewer->appId))
		return holder;
	const Peer *peer = peers.find(holder);
	if (peer && seesHolderDetails(viewer, peer->appId))
		return holder;
	return holderLabel(peer ? &peer->appId : nullptr);
}

} // namespace ipchub::bus
