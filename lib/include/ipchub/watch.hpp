// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ipchub/object_status.hpp>
#include <ipchub/result.hpp>

namespace ipchub {

namespace detail {
class Session;
}

// One change of the objects ipchubd publishes, as its signals tell it.
struct ObjectEvent {
	enum class Type {
		// An object appeared (InterfacesAdded); properties holds all of them.
		Added,
		// An object went (InterfacesRemoved); properties is empty.
		Removed,
		// Properties changed (PropertiesChanged); properties holds the new values.
		Changed,
	};
	Type type;
	// kind, path, key and scope of the object; properties as above.
	ObjectStatus object;
};

// A subscription to every object change of ipchubd, from Client::watch. The
// signals are subscribed to before Client::watch returns, so nothing that happens
// after it returned is missed: events wait in the connection until run()
// dispatches them. run() is for one thread at a time; other threads may use the
// same Client meanwhile (the handler runs without the Client's lock, so it may call
// the Client too).
class Watch
{
public:
	using Handler = std::function<void(const ObjectEvent &)>;

	// Move-only; destroying the Watch (or assigning over it) ends the subscription.
	Watch(Watch &&) noexcept;
	Watch &operator=(Watch &&) noexcept;
	~Watch();

	// Calls the handler with each event, in order, until stopFd (when not -1)
	// becomes readable: then returns success. Returns an error if the bus
	// connection fails.
	[[nodiscard]] Result<void> run(int stopFd = -1);

private:
	friend class Client;
	struct State;
	Watch(std::shared_ptr<detail::Session> session, std::unique_ptr<State> state);
	void reset();

	std::shared_ptr<detail::Session> session_;
	std::unique_ptr<State> state_;
};

} // namespace ipchub
