// SPDX-License-Identifier: LGPL-2.1-or-later
#include "listeners.hpp"

#include "session.hpp"

namespace ipchub::detail {

namespace {

constexpr const char *kProperties = "org.freedesktop.DBus.Properties";
constexpr const char *kDbus = "org.freedesktop.DBus";

} // namespace

Result<void> PropertiesListener::subscribe(Session &session,
					   const std::shared_ptr<PropertiesListener> &self)
{
	self_ = self;
	// Subscribed before GetAll: a change after the read is not missed, and one before
	// it is overwritten by the read (ipchubd sends in order).
	const std::string rule = std::string("type='signal',sender='") + kBusName + "',path='" +
				 path_ + "',interface='" + kProperties +
				 "',member='PropertiesChanged',arg0='" + interface_ + "'";
	Session *owner = &session;
	try {
		match_ = session.connection->addMatch(rule, [this, owner](sdbus::Message &message) {
			onSignal(*owner, message);
		});
		proxy_ = session.proxy(path_);
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed,
			    "cannot subscribe to the changes of " + path_ + ": " + e.getMessage());
	}
	return {};
}

void PropertiesListener::refresh(Session &session)
{
	if (!proxy_)
		return;
	std::weak_ptr<PropertiesListener> weak = self_;
	Session *owner = &session;
	try {
		auto call = proxy_->createMethodCall(kProperties, "GetAll");
		call << std::string(interface_);
		session.send(*proxy_, call, [weak, owner](sdbus::MethodReply &reply, bool) {
			auto self = weak.lock();
			PropertyMap all;
			try {
				reply >> all;
			} catch (const sdbus::Error &) {
				return;
			}
			if (self && !self->cancelled)
				self->seed(*owner, all);
		});
	} catch (const sdbus::Error &) {
		// The connection failed: its disconnect listeners are told.
	}
}

void PropertiesListener::seed(Session &session, const PropertyMap &all)
{
	properties_ = all;
	complete_ = true;
	if (auto self = self_.lock())
		session.queueListener(std::move(self));
}

// Reads its signal as Notifier::onOwnerChanged reads its own, on purpose: another
// signal, other arguments, another check of the sender.
void PropertiesListener::onSignal(Session &session, sdbus::Message &message)
{
	// The match names the well-known name, which sd-bus cannot check by itself.
	const std::string &owner = session.notifier.owner;
	if (!owner.empty() && message.getSender() != owner)
		return;
	std::string interface;
	PropertyMap changed;
	std::vector<std::string> invalidated;
	try {
		message >> interface >> changed >> invalidated;
	} catch (const sdbus::Error &) {
		return;
	}
	if (interface != interface_)
		return;
	for (auto &[name, value] : changed)
		properties_.insert_or_assign(name, std::move(value));
	// Values too long for the signal (Holders past 64 entries) come by a read.
	if (!invalidated.empty()) {
		refresh(session);
		return;
	}
	if (!complete_)
		return;
	if (auto self = self_.lock())
		session.queueListener(std::move(self));
}

void PropertiesListener::drop()
{
	match_.reset();
	proxy_.reset();
}

void DisconnectListener::tell(Session &session, const std::shared_ptr<DisconnectListener> &self,
			      Error error)
{
	error_ = std::move(error);
	session.queueListener(self);
}

std::function<void()> DisconnectListener::take()
{
	if (!error_)
		return {};
	Error error = std::move(*error_);
	error_.reset();
	// process() keeps this listener while the call runs.
	return [this, error = std::move(error)] { callback_(error); };
}

Result<void> Notifier::watchOwner(Session &session)
{
	if (ownerMatch_)
		return {};
	const std::string rule = std::string("type='signal',sender='") + kDbus + "',interface='" +
				 kDbus + "',member='NameOwnerChanged',arg0='" + kBusName + "'";
	Session *owner = &session;
	try {
		ownerMatch_ =
			session.connection->addMatch(rule, [this, owner](sdbus::Message &message) {
				onOwnerChanged(*owner, message);
			});
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed,
			    "cannot subscribe to the departure of ipchubd: " + e.getMessage());
	}
	return {};
}

namespace {

// Forgets the listeners that went or were cancelled.
template <typename T>
void prune(std::vector<std::weak_ptr<T>> &listeners)
{
	std::erase_if(listeners, [](const std::weak_ptr<T> &weak) {
		auto listener = weak.lock();
		return !listener || listener->cancelled;
	});
}

} // namespace

void Notifier::add(Session &session, const std::shared_ptr<DisconnectListener> &listener)
{
	prune(disconnects_);
	disconnects_.push_back(listener);
	if (failure_)
		listener->tell(session, listener, *failure_);
}

void Notifier::add(std::weak_ptr<PropertiesListener> listener)
{
	prune(objects_);
	objects_.push_back(std::move(listener));
}

void Notifier::tellAll(Session &session, const Error &error)
{
	prune(disconnects_);
	for (const auto &weak : disconnects_)
		if (auto listener = weak.lock())
			listener->tell(session, listener, error);
}

void Notifier::connectionFailed(Session &session, const Error &error)
{
	if (failure_)
		return;
	failure_ = error;
	tellAll(session, error);
}

// Parallels PropertiesListener::onSignal on purpose (see there).
void Notifier::onOwnerChanged(Session &session, sdbus::Message &message)
{
	// Only the bus itself sends this signal; another peer could send it to us.
	if (message.getSender() != kDbus)
		return;
	std::string name;
	std::string oldOwner;
	std::string newOwner;
	try {
		message >> name >> oldOwner >> newOwner;
	} catch (const sdbus::Error &) {
		return;
	}
	if (name != kBusName)
		return;
	owner = newOwner;
	if (!oldOwner.empty())
		tellAll(session,
			Error{ErrorCode::Failed, "ipchubd (" + oldOwner +
							 ") left the bus: what this "
							 "connection held on non-persistent "
							 "objects is gone"});
	if (newOwner.empty())
		return;
	// A new ipchubd knows nothing of this connection's interest: read again, which
	// tells it, and tells the callbacks the state it came back with.
	prune(objects_);
	for (const auto &weak : objects_)
		if (auto listener = weak.lock())
			listener->refresh(session);
}

} // namespace ipchub::detail
