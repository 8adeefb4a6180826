// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <systemd/sd-bus.h>

#include "core/limits.hpp"
#include "interests.hpp"
#include "peers.hpp"
#include "sd_bus_access.hpp"

namespace sdbus {
class IConnection;
}

namespace ipchub::bus {

// Sends the object signals as unicast copies to the peers Interests names, and keeps
// what one peer has not read bounded. dbus-daemon queues what a peer does not read,
// charged to ipchubd, and stops reading ipchubd when that passes its limit: one
// subscriber that never reads would freeze the service for everyone. ipchubd cannot
// see a peer's socket, so it asks: once half a window of signals has gone to a peer,
// it calls the peer's org.freedesktop.DBus.Peer.Ping (GDBus, sd-bus and libdbus answer
// it by themselves), whose reply comes only after the peer has read what was sent
// before it. At most unreadSignalsPerConnection signals to one peer are unanswered;
// past that, until the peer has read:
//   - an object's PropertiesChanged is noted, not sent; once the peer has read, one
//     signal with the latest values goes for each noted object (the coalescing the
//     10 ms interval does, stretched to the peer's pace);
//   - InterfacesAdded/Removed, which cannot be merged, end the peer's watching (and so
//     does a backlog of more objects than interestsPerConnection): it is told of the
//     objects it showed interest in only, until it calls GetManagedObjects again.
// So a peer that never reads costs the bus at most a window of signals, however long
// it stays.
class Delivery
{
public:
	// Builds and sends one signal to the peer named; false when that failed.
	using Sender = std::function<bool(const std::string &peer)>;

	// peers must outlive this.
	Delivery(sdbus::IConnection &connection, const Peers &peers, const core::Limits &limits);
	~Delivery();
	Delivery(const Delivery &) = delete;
	Delivery &operator=(const Delivery &) = delete;

	// Who the recipients are: what a signal may say of holders depends on it.
	const Peers &peers() const { return peers_; }
	Interests &interests() { return interests_; }
	const Interests &interests() const { return interests_; }

	// The object at path, described by info: sender sends its PropertiesChanged.
	void addObject(const std::string &path, const core::ObjectInfo &info, Sender sender);
	void removeObject(const std::string &path);
	// The object at path changed: its PropertiesChanged goes to its recipients.
	void changed(const std::string &path);
	// An ObjectManager signal about the object described by info, for every watcher
	// that may see it.
	void announce(const core::ObjectInfo &info, const Sender &sender);
	// The peer left the bus.
	void forget(const std::string &name);

	// Signals sent to name that it has not shown it read.
	uint64_t unread(const std::string &name) const;

private:
	struct Window {
		Delivery *owner = nullptr;
		std::string name;
		uint64_t sent = 0;
		// Of those, how many the peer has shown it read (an answered Ping).
		uint64_t read = 0;
		// sent when the Ping in flight went.
		uint64_t pingedAt = 0;
		// The objects whose change is still to be sent.
		std::unordered_set<std::string> deferred;
		SlotPtr ping;
	};

	Window &window(const std::string &name);
	bool isOpen(const Window &window) const
	{
		return window.sent - window.read < limits_.unreadSignalsPerConnection;
	}
	// How many unanswered signals make ipchubd ask the peer whether it read them.
	uint64_t askAfter() const
	{
		return std::max<uint64_t>(1, limits_.unreadSignalsPerConnection / 2);
	}
	// Sends through sender if the window is open; false if it is not.
	bool deliver(Window &window, const Sender &sender);
	void ping(Window &window);
	static int onPong(sd_bus_message *reply, void *userdata, sd_bus_error *);
	void flush(Window &window);

	sd_bus *bus_;
	const Peers &peers_;
	const core::Limits &limits_;
	Interests interests_;
	std::unordered_map<std::string, Sender> senders_;
	std::unordered_map<std::string, Window> windows_;
};

} // namespace ipchub::bus
