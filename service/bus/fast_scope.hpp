// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

#include "common/result.hpp"
#include "core/key.hpp"
#include "peers.hpp"

namespace ipchub::bus {

// Who may have a fast object's page: only callers in the object's own scope (the same
// app, or the host for a host object). A client with the page can break the object's
// exclusion, so apps let in by allowed_apps, and the host on an app's object, use the
// bus path. PermissionDenied naming what otherwise.
inline Result<void> checkFastScope(const Peer &peer, const core::ObjectInfo &info,
				   const std::string &what)
{
	if (peer.appId == info.id.scope)
		return {};
	const auto name = [](const std::string &scope) {
		return scope.empty() ? std::string("the host") : "app " + scope;
	};
	return fail(ErrorCode::PermissionDenied,
		    what + " belongs to " + name(info.id.scope) + "; its page goes only to " +
			    name(info.id.scope) + ", not to " + name(peer.appId) +
			    ", which may use it through the bus");
}

} // namespace ipchub::bus
