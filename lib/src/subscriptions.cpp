// SPDX-License-Identifier: LGPL-2.1-or-later
// Subscription, the objects' onChanged and Client::onDisconnected: typed properties
// from GetAll and PropertiesChanged, handed out by Client::process().
#include "ipchub/subscription.hpp"

#include "common/lock_mode.hpp"
#include "ipchub/client.hpp"
#include "listeners.hpp"
#include "object_properties.hpp"
#include "proxies.hpp"

namespace ipchub {

// The move and cancel under the session lock parallel PendingWait's and Watch's
// (pending_wait.cpp, watch.cpp) on purpose: each ends its own registration.
Subscription::Subscription(std::shared_ptr<detail::Session> session,
			   std::shared_ptr<detail::Listener> listener)
	: session_(std::move(session)), listener_(std::move(listener))
{
}

Subscription::Subscription(Subscription &&other) noexcept
	: session_(std::move(other.session_)), listener_(std::move(other.listener_))
{
}

Subscription &Subscription::operator=(Subscription &&other) noexcept
{
	if (this != &other) {
		cancel();
		session_ = std::move(other.session_);
		listener_ = std::move(other.listener_);
	}
	return *this;
}

Subscription::~Subscription()
{
	cancel();
}

void Subscription::cancel()
{
	if (!listener_)
		return;
	// The callback, and what it captured, go outside the lock: their destructors may
	// call the Client.
	auto listener = std::move(listener_);
	{
		detail::Session::Held held(*session_);
		listener->cancelled = true;
		listener->drop();
	}
	listener.reset();
	session_.reset();
}

bool Subscription::active() const
{
	return listener_ && !listener_->cancelled;
}

namespace detail {

namespace {

// The value of property name, or fallback when it is missing or of another type.
template <typename T>
T value(const PropertyMap &properties, const char *name, T fallback = {})
{
	auto it = properties.find(name);
	if (it == properties.end())
		return fallback;
	try {
		return it->second.get<T>();
	} catch (const sdbus::Error &) {
		return fallback;
	}
}

SemaphoreProperties semaphoreProperties(const PropertyMap &properties)
{
	SemaphoreProperties state;
	state.value = value<uint32_t>(properties, "Value");
	state.waiters = value<uint32_t>(properties, "Waiters");
	using Holders = std::vector<sdbus::Struct<std::string, uint32_t>>;
	for (const auto &holder : value<Holders>(properties, "Holders"))
		state.holders.push_back({holder.get<0>(), holder.get<1>()});
	return state;
}

LockState lockState(const std::string &mode)
{
	if (mode == "shared")
		return LockState::Shared;
	if (mode == "exclusive")
		return LockState::Exclusive;
	return LockState::Unlocked;
}

LockProperties lockProperties(const PropertyMap &properties)
{
	LockProperties state;
	state.mode = lockState(value<std::string>(properties, "Mode"));
	state.waiters = value<uint32_t>(properties, "Waiters");
	state.token = value<uint64_t>(properties, "Token");
	state.holders = lockHolders(value<LockHolderStructs>(properties, "Holders"));
	return state;
}

SharedMemoryProperties sharedMemoryProperties(const PropertyMap &properties)
{
	return {
		.size = value<uint64_t>(properties, "Size"),
		.attachments = value<uint32_t>(properties, "Attachments"),
		.sealed = value<bool>(properties, "Sealed"),
		.lockHolder = value<std::string>(properties, "LockHolder"),
		.lockWaiters = value<uint32_t>(properties, "LockWaiters"),
	};
}

// Subscribes callback to the properties of the object at path (what names it in the
// error of a closed one); the listener for the Subscription.
template <typename State, typename Proxy>
Result<std::shared_ptr<Listener>>
subscribe(const std::shared_ptr<Session> &session, const std::shared_ptr<Proxy> &proxy,
	  const std::string &path, const char *what, typename TypedListener<State>::Decode decode,
	  std::function<void(const State &)> callback)
{
	if (!proxy)
		return closedError(what);
	auto listener = std::make_shared<TypedListener<State>>(path, Proxy::INTERFACE_NAME, decode,
							       std::move(callback));
	Session::Held held(*session);
	auto failed = [&](Result<void> result) -> Result<std::shared_ptr<Listener>> {
		listener->cancelled = true;
		listener->drop();
		return errorOf(result);
	};
	if (auto watching = session->notifier.watchOwner(*session); !watching)
		return failed(watching);
	if (auto subscribed = listener->subscribe(*session, listener); !subscribed)
		return failed(subscribed);
	auto &bus = listener->proxy();
	auto reply = session->call(held, bus,
				   methodCall(bus, "org.freedesktop.DBus.Properties", "GetAll",
					      std::string(Proxy::INTERFACE_NAME)),
				   session->callDeadline());
	PropertyMap all;
	if (auto read = readValues(reply, all); !read)
		return failed(read);
	session->notifier.owner = reply->getSender();
	listener->seed(*session, all);
	session->notifier.add(std::weak_ptr<PropertiesListener>(listener));
	return listener;
}

} // namespace

} // namespace detail

// The three onChanged parallel each other on purpose: each kind names its own
// properties struct and reader.
Result<Subscription> Semaphore::onChanged(std::function<void(const SemaphoreProperties &)> callback)
{
	auto listener = detail::subscribe<SemaphoreProperties>(session_, proxy_, path_,
							       "the semaphore",
							       detail::semaphoreProperties,
							       std::move(callback));
	if (!listener)
		return errorOf(listener);
	return Subscription(session_, std::move(*listener));
}

Result<Subscription> Lock::onChanged(std::function<void(const LockProperties &)> callback)
{
	auto listener = detail::subscribe<LockProperties>(session_, proxy_, path_, "the lock",
							  detail::lockProperties,
							  std::move(callback));
	if (!listener)
		return errorOf(listener);
	return Subscription(session_, std::move(*listener));
}

Result<Subscription>
SharedMemory::onChanged(std::function<void(const SharedMemoryProperties &)> callback)
{
	auto listener = detail::subscribe<SharedMemoryProperties>(session_, proxy_, path_,
								  "the shared-memory object",
								  detail::sharedMemoryProperties,
								  std::move(callback));
	if (!listener)
		return errorOf(listener);
	return Subscription(session_, std::move(*listener));
}

Result<Subscription> Client::onDisconnected(std::function<void(const Error &)> callback)
{
	auto listener = std::make_shared<detail::DisconnectListener>(std::move(callback));
	detail::Session::Held held(*session_);
	if (auto watching = session_->notifier.watchOwner(*session_); !watching)
		return errorOf(watching);
	session_->notifier.add(*session_, listener);
	return Subscription(session_, listener);
}

} // namespace ipchub
