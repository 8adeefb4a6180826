// SPDX-License-Identifier: LGPL-2.1-or-later
#include "path_guard.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string_view>

#include "common/flatpak_info.hpp"
#include "common/object_path.hpp"
#include "core/access.hpp"
#include "errors.hpp"

namespace ipchub::bus {

namespace {

// Where the kinds' nodes are: below the Manager's path.
constexpr std::string_view kKindsRoot = "/io/github/ipchub1/";
static_assert(kKindsRoot.substr(0, kKindsRoot.size() - 1) ==
	      std::string_view(common::kManagerPath));

// The label path names right below node, unescaped; nothing if path is not
// node/<label>. sd_bus_path_decode takes any label (a bad escape stays as it is), so
// callers compare the path with the one the decoded names encode to.
std::optional<std::string> labelBelow(const std::string &node, std::string_view path)
{
	if (!path.starts_with(node + "/"))
		return std::nullopt;
	const std::string label(path.substr(0, path.find('/', node.size() + 1)));
	char *decoded = nullptr;
	if (sd_bus_path_decode(label.c_str(), node.c_str(), &decoded) <= 0)
		return std::nullopt;
	std::string name(decoded);
	std::free(decoded);
	return name;
}

} // namespace

PathGuard::PathGuard(sdbus::IConnection &connection, Peers &peers, const core::Hub &hub)
	: peers_(peers), hub_(hub)
{
	sd_bus_slot *slot = nullptr;
	const int r = sd_bus_add_filter(sdBusOf(connection), &slot, &PathGuard::onMessage, this);
	if (r < 0)
		throw std::runtime_error("sd_bus_add_filter failed");
	slot_.reset(slot);
}

int PathGuard::onMessage(sd_bus_message *message, void *userdata, sd_bus_error *)
{
	auto *self = static_cast<PathGuard *>(userdata);
	const char *path = sd_bus_message_get_path(message);
	const char *sender = sd_bus_message_get_sender(message);
	// Only calls below the Manager's path: the kinds' nodes and objects.
	if (!sd_bus_message_is_method_call(message, nullptr, nullptr) || !path || !sender ||
	    !std::string_view(path).starts_with(kKindsRoot))
		return 0;
	// A C callback: nothing may be thrown through sd-bus.
	try {
		const auto caller = self->peers_.identify(std::string(sender));
		std::optional<Error> refused;
		if (!caller)
			refused = caller.error();
		else if (auto why = self->refusal((*caller)->appId, path,
						  sd_bus_message_is_method_call(
							  message,
							  "org.freedesktop.DBus.Introspectable",
							  nullptr) > 0))
			refused = Error{ErrorCode::PermissionDenied, *why};
		if (!refused)
			return 0;
		const sdbus::Error error = toDbusError(*refused);
		sd_bus_reply_method_errorf(message, error.getName().c_str(), "%s",
					   error.getMessage().c_str());
	} catch (const std::exception &e) {
		std::cerr << "ipchubd: checking a call on " << path << ": " << e.what() << "\n";
		sd_bus_reply_method_errorf(message, SD_BUS_ERROR_FAILED, "%s", e.what());
	} catch (...) {
		sd_bus_reply_method_errorf(message, SD_BUS_ERROR_FAILED,
					   "checking the call failed");
	}
	return 1;
}

std::optional<std::string> PathGuard::refusal(const std::string &appId, const std::string &path,
					      bool introspect) const
{
	if (core::access::seesEveryScope(appId))
		return std::nullopt;
	for (const auto &names : common::kKinds) {
		const ObjectKind kind = names.kind;
		const std::string node = common::scopePath(kind, "");
		if (path != node && !path.starts_with(node + "/"))
			continue;
		// Its own scope (core::access::mayManage), compared escaped: exactly the
		// paths sd-bus could have there.
		const std::string own = common::scopePath(kind, appId);
		if (path == own || path.starts_with(own + "/"))
			return std::nullopt;
		// An object it may use, at exactly the path the object has: a host object
		// (node/<key>) or an app's (node/<app id>/<key>).
		if (const auto first = labelBelow(node, path)) {
			const core::ObjectKey host{"", *first};
			// A host key that is an app id has that app's scope node for its path,
			// and Introspect of it would list the app's keys: never introspected.
			if (path == common::objectPath(kind, "", *first) &&
			    !(introspect && common::isValidAppId(*first)) &&
			    mayUse(appId, kind, host))
				return std::nullopt;
			if (const auto second = labelBelow(common::scopePath(kind, *first), path)) {
				const core::ObjectKey id{*first, *second};
				if (path == common::objectPath(kind, *first, *second) &&
				    mayUse(appId, kind, id))
					return std::nullopt;
			}
		}
		return "app " + appId + " may not call " + path + ": a sandboxed app reaches " +
		       own + " and the objects shared with it";
	}
	return std::nullopt;
}

bool PathGuard::mayUse(const std::string &appId, ObjectKind kind, const core::ObjectKey &id) const
{
	const auto visible = [&](const auto &table) {
		const auto object = table.find(id);
		return object && core::access::mayUse(appId, object->info());
	};
	if (kind == ObjectKind::Semaphore)
		return visible(hub_.semaphores);
	if (kind == ObjectKind::SharedMemory)
		return visible(hub_.sharedMemories);
	return visible(hub_.locks);
}

} // namespace ipchub::bus
