// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What a Subscription stands for: a listener the bus's dispatch (under the session
// lock, in whatever thread reads the connection) fills in, and Client::process() calls
// back outside the lock.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "ipchub/result.hpp"
#include "object_properties.hpp"

namespace ipchub::detail {

class Session;

struct Listener {
	virtual ~Listener() = default;
	// Under the lock, from process(): the call to make outside it for what came since
	// the last one; empty for nothing.
	virtual std::function<void()> take() = 0;
	// Under the lock: lets go of what uses the connection (matches, proxies).
	virtual void drop() {}

	// Set under the lock; read by process() outside it, before each call.
	std::atomic<bool> cancelled{false};
	// In the session's list for the next process().
	bool queued = false;
};

// The properties of one object, kept by a GetAll and then by its PropertiesChanged.
class PropertiesListener : public Listener
{
public:
	PropertiesListener(std::string path, const char *interface)
		: path_(std::move(path)), interface_(interface)
	{
	}

	// Under the lock: subscribes to the object's PropertiesChanged. Then the caller
	// reads every property on proxy() (GetAll, which also tells ipchubd that this
	// connection is interested) and hands them to seed().
	Result<void> subscribe(Session &session, const std::shared_ptr<PropertiesListener> &self);
	sdbus::IProxy &proxy() { return *proxy_; }
	// Every property, read now: queues a call.
	void seed(Session &session, const PropertyMap &all);
	// Reads every property again without waiting (a new ipchubd knows nothing of this
	// connection's interest); the reply queues a call.
	void refresh(Session &session);
	void drop() override;

protected:
	PropertyMap properties_;

private:
	void onSignal(Session &session, sdbus::Message &message);

	std::string path_;
	const char *interface_;
	// The first GetAll answered: properties_ holds every property.
	bool complete_ = false;
	std::weak_ptr<PropertiesListener> self_;
	sdbus::Slot match_;
	std::unique_ptr<sdbus::IProxy> proxy_;
};

// A PropertiesListener that hands its callback the object's properties as State.
template <typename State>
class TypedListener final : public PropertiesListener
{
public:
	using Decode = State (*)(const PropertyMap &);
	TypedListener(std::string path, const char *interface, Decode decode,
		      std::function<void(const State &)> callback)
		: PropertiesListener(std::move(path), interface), decode_(decode),
		  callback_(std::move(callback))
	{
	}

	std::function<void()> take() override
	{
		// process() keeps this listener while the call runs.
		return [this, state = decode_(properties_)] { callback_(state); };
	}

private:
	Decode decode_;
	std::function<void(const State &)> callback_;
};

// Client::onDisconnected's callback, with the error it is to be told.
class DisconnectListener final : public Listener
{
public:
	explicit DisconnectListener(std::function<void(const Error &)> callback)
		: callback_(std::move(callback))
	{
	}

	// Under the lock: error is to be told (the last one, if several come before
	// process()).
	void tell(Session &session, const std::shared_ptr<DisconnectListener> &self, Error error);
	std::function<void()> take() override;

private:
	std::optional<Error> error_;
	std::function<void(const Error &)> callback_;
};

// What the listeners of one session share: ipchubd's comings and goings and the
// connection's failure. Used under the session lock.
class Notifier
{
public:
	// Subscribes to NameOwnerChanged of io.github.ipchub1 (once for the session).
	Result<void> watchOwner(Session &session);
	// A listener added after the connection failed is told at once.
	void add(Session &session, const std::shared_ptr<DisconnectListener> &listener);
	void add(std::weak_ptr<PropertiesListener> listener);
	// The connection failed: every disconnect listener is told, once.
	void connectionFailed(Session &session, const Error &error);
	// The unique name that owns io.github.ipchub1, as the replies and NameOwnerChanged
	// tell; "" while unknown. Signals of another sender are not ipchubd's.
	std::string owner;

private:
	void onOwnerChanged(Session &session, sdbus::Message &message);
	void tellAll(Session &session, const Error &error);

	sdbus::Slot ownerMatch_;
	std::optional<Error> failure_;
	std::vector<std::weak_ptr<DisconnectListener>> disconnects_;
	std::vector<std::weak_ptr<PropertiesListener>> objects_;
};

} // namespace ipchub::detail
