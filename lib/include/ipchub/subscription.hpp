// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>

namespace ipchub {

namespace detail {
class Session;
struct Listener;
} // namespace detail

// Its handle parallels PendingWait's (pending_wait.hpp) on purpose: each owns and ends
// its own kind of registration.
//
// A callback registered with Semaphore::onChanged, Lock::onChanged,
// SharedMemory::onChanged or Client::onDisconnected. The callback runs only from
// Client::process(), in the thread that calls it and without the Client's lock (so it
// may call the Client), never from a blocking call of another thread: those may read
// what the callback is about, but leave it for process(), and make Client::fd()
// readable. Destroying the handle (or cancel()) ends the subscription; discarding it
// ends it at once, hence [[nodiscard]]. ipchubd tells a bounded number of connections
// of each object and of objects to each connection (interested_peers_per_object,
// interests_per_connection in the Manager's Limits): past them, an onChanged
// subscription gets its first call only.
class [[nodiscard]] Subscription
{
public:
	Subscription() = default;
	// A moved-from handle ends nothing; assigning over a handle ends its subscription.
	Subscription(Subscription &&other) noexcept;
	Subscription &operator=(Subscription &&other) noexcept;
	~Subscription();

	// Ends the subscription: the callback will not run again. Called from the thread
	// that calls Client::process() (a callback among them), this is exact; from
	// another thread, a call that process() is running already finishes.
	void cancel();
	// Whether the subscription is still on.
	bool active() const;

private:
	friend class Client;
	friend class Semaphore;
	friend class Lock;
	friend class SharedMemory;
	Subscription(std::shared_ptr<detail::Session> session,
		     std::shared_ptr<detail::Listener> listener);

	std::shared_ptr<detail::Session> session_;
	std::shared_ptr<detail::Listener> listener_;
};

} // namespace ipchub
