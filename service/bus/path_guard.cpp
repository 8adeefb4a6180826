#include "path_guard.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "core/scope.hpp"
#include "errors.hpp"
#include "object_path.hpp"

namespace ipchub::bus {

namespace {

constexpr const char *kKinds[] = {"semaphore", "shm", "lock"};
// Where the kinds' nodes are: below the Manager's path.
constexpr std::string_view kKindsRoot = "/io/github/ipchub1/";
static_assert(kKindsRoot.substr(0, kKindsRoot.size() - 1) == std::string_view(kManagerPath));

// The labels of path below prefix (".../KIND"), unescaped; nothing if a label is not
// one sd_bus_path_encode makes.
std::optional<std::vector<std::string>> labelsBelow(const std::string &prefix,
						    const std::string &path)
{
	std::vector<std::string> labels;
	size_t start = prefix.size() + 1;
	while (start <= path.size()) {
		size_t end = path.find('/', start);
		if (end == std::string::npos)
			end = path.size();
		const std::string label = prefix + "/" + path.substr(start, end - start);
		char *decoded = nullptr;
		if (sd_bus_path_decode(label.c_str(), prefix.c_str(), &decoded) <= 0)
			return std::nullopt;
		labels.emplace_back(decoded);
		std::free(decoded);
		start = end + 1;
	}
	return labels;
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
		else if (auto why = self->refusal((*caller)->appId, path))
			refused = Error{ErrorCode::PermissionDenied, *why};
		if (!refused)
			return 0;
		const sdbus::Error error = toDbusError(*refused);
		sd_bus_error reply = SD_BUS_ERROR_MAKE_CONST(error.getName().c_str(),
							     error.getMessage().c_str());
		sd_bus_reply_method_error(message, &reply);
		return 1;
	} catch (const std::exception &e) {
		std::cerr << "ipchubd: checking a call on " << path << ": " << e.what() << "\n";
		sd_bus_error reply = SD_BUS_ERROR_MAKE_CONST(SD_BUS_ERROR_FAILED, e.what());
		sd_bus_reply_method_error(message, &reply);
		return 1;
	}
}

std::optional<std::string> PathGuard::refusal(const std::string &appId, const std::string &path) const
{
	if (appId.empty())
		return std::nullopt;
	for (const char *kind : kKinds) {
		const std::string node = scopePath(kind, "");
		if (path != node && !path.starts_with(node + "/"))
			continue;
		const auto labels = path == node ? std::nullopt : labelsBelow(node, path);
		if (labels && !labels->empty()) {
			if ((*labels)[0] == appId)
				return std::nullopt;
			if (labels->size() == 1 && mayUse(appId, kind, {"", (*labels)[0]}))
				return std::nullopt;
			if (labels->size() == 2 && mayUse(appId, kind, {(*labels)[0], (*labels)[1]}))
				return std::nullopt;
		}
		return "app " + appId + " may not call " + path + ": a sandboxed app reaches " +
		       scopePath(kind, appId) + " and the objects shared with it";
	}
	return std::nullopt;
}

bool PathGuard::mayUse(const std::string &appId, const std::string &kind,
		       const core::ObjectKey &id) const
{
	const auto visible = [&](const auto &table) {
		const auto object = table.find(id);
		return object && core::mayAccess(appId, object->info().id.scope,
						 object->info().allowedApps);
	};
	if (kind == "semaphore")
		return visible(hub_.semaphores);
	if (kind == "shm")
		return visible(hub_.segments);
	return visible(hub_.locks);
}

} // namespace ipchub::bus
