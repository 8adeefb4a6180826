// SPDX-License-Identifier: LGPL-2.1-or-later
#include "delivery.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ipchub::bus {

Delivery::Delivery(sdbus::IConnection &connection, const Peers &peers,
		   const core::Limits &limits)
	: bus_(sdBusOf(connection)), peers_(peers), limits_(limits), interests_(limits)
{
}

Delivery::~Delivery() = default;

void Delivery::addObject(const std::string &path, const core::ObjectInfo &info, Sender sender)
{
	interests_.addObject(path, info);
	senders_.insert_or_assign(path, std::move(sender));
}

void Delivery::removeObject(const std::string &path)
{
	interests_.removeObject(path);
	senders_.erase(path);
}

Delivery::Window &Delivery::window(const std::string &name)
{
	auto [it, added] = windows_.try_emplace(name);
	if (added) {
		it->second.owner = this;
		it->second.name = name;
	}
	return it->second;
}

uint64_t Delivery::unread(const std::string &name) const
{
	auto it = windows_.find(name);
	return it == windows_.end() ? 0 : it->second.sent - it->second.read;
}

bool Delivery::deliver(Window &window, const Sender &sender)
{
	if (!isOpen(window))
		return false;
	if (!sender(window.name))
		return true;
	++window.sent;
	if (!window.ping && window.sent - window.read >= askAfter())
		ping(window);
	return true;
}

void Delivery::changed(const std::string &path)
{
	auto sender = senders_.find(path);
	if (sender == senders_.end())
		return;
	std::vector<std::string> recipients;
	interests_.forEachRecipient(path,
				    [&](const std::string &name) { recipients.push_back(name); });
	for (const auto &name : recipients) {
		Window &peer = window(name);
		if (deliver(peer, sender->second))
			continue;
		peer.deferred.insert(path);
		// A backlog as long as the objects a peer may be told of: it is watching
		// more than it reads.
		if (peer.deferred.size() > limits_.interestsPerConnection)
			interests_.unwatch(name);
	}
}

void Delivery::announce(const core::ObjectInfo &info, const Sender &sender)
{
	std::vector<std::string> watchers;
	interests_.forEachWatcher(info, [&](const std::string &name) { watchers.push_back(name); });
	for (const auto &name : watchers)
		if (!deliver(window(name), sender))
			interests_.unwatch(name);
}

void Delivery::forget(const std::string &name)
{
	interests_.forget(name);
	windows_.erase(name);
}

void Delivery::ping(Window &window)
{
	sd_bus_message *call = nullptr;
	int r = sd_bus_message_new_method_call(bus_, &call, window.name.c_str(), "/",
					       "org.freedesktop.DBus.Peer", "Ping");
	sd_bus_slot *slot = nullptr;
	// No timeout: the answer comes when the peer reads, however late, or the bus
	// answers NoReply when the peer leaves.
	if (r >= 0)
		r = sd_bus_call_async(bus_, &slot, call, &Delivery::onPong, &window, UINT64_MAX);
	sd_bus_message_unref(call);
	if (r < 0) {
		// Nothing to ask with (the bus is going): no bound can be kept, so none is.
		window.read = window.sent;
		return;
	}
	window.pingedAt = window.sent;
	window.ping.reset(slot);
}

int Delivery::onPong(sd_bus_message *reply, void *userdata, sd_bus_error *)
{
	auto &window = *static_cast<Window *>(userdata);
	// Any answer from the peer, an error included, comes after it read what was sent
	// before the Ping; NoReply is the bus's (the peer left, or a timeout).
	const sd_bus_error *error = sd_bus_message_get_error(reply);
	const bool fromPeer = !error || !error->name ||
			      std::strcmp(error->name, SD_BUS_ERROR_NO_REPLY) != 0;
	// Dropping the slot inside its own callback is what sd-bus expects of a
	// non-floating slot that is done.
	window.ping.reset();
	if (fromPeer)
		window.read = std::max(window.read, window.pingedAt);
	window.owner->flush(window);
	return 0;
}

void Delivery::flush(Window &window)
{
	if (!window.deferred.empty()) {
		auto pending = std::move(window.deferred);
		window.deferred.clear();
		for (auto it = pending.begin(); it != pending.end(); ++it) {
			auto sender = senders_.find(*it);
			if (sender == senders_.end() || !interests_.tells(*it, window.name))
				continue;
			if (!deliver(window, sender->second))
				window.deferred.insert(*it);
		}
	}
	// Half a window still unanswered (after a NoReply too) and nothing asking: ask.
	if (!window.ping && window.sent - window.read >= askAfter())
		ping(window);
}

} // namespace ipchub::bus
