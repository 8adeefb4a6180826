// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/watch.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <time.h>

#include "ipchub/client.hpp"
#include "object_properties.hpp"
#include "proxies.hpp"

namespace ipchub {

namespace {

constexpr const char *kPropertiesInterface = "org.freedesktop.DBus.Properties";

// Milliseconds from now to sd-bus's absolute CLOCK_MONOTONIC deadline; -1 for none.
int pollTimeout(uint64_t deadlineUsec)
{
	if (deadlineUsec == UINT64_MAX)
		return -1;
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	const uint64_t nowUsec = static_cast<uint64_t>(now.tv_sec) * 1'000'000 +
				 static_cast<uint64_t>(now.tv_nsec) / 1000;
	if (deadlineUsec <= nowUsec)
		return 0;
	// Rounded up, so poll does not wake a little early and spin.
	return static_cast<int>((deadlineUsec - nowUsec + 999) / 1000);
}

} // namespace

// The subscription and what it knows of each object, so that a removal or a change
// can name the object's key and scope.
struct Watch::State {
	Handler handler;
	std::map<std::string, ObjectStatus> known;
	std::vector<sdbus::Slot> matches;
	// Filled in by the dispatch (under the session lock), handed to the handler after
	// it: a handler may call the Client.
	std::vector<ObjectEvent> events;

	void onAdded(sdbus::Message &message)
	{
		sdbus::ObjectPath path;
		detail::InterfaceMap interfaces;
		message >> path >> interfaces;
		auto status = detail::objectStatus(path, interfaces);
		if (!status)
			return;
		known.insert_or_assign(path, *status);
		events.push_back({ObjectEvent::Type::Added, std::move(*status)});
	}

	void onRemoved(sdbus::Message &message)
	{
		sdbus::ObjectPath path;
		std::vector<std::string> interfaces;
		message >> path >> interfaces;
		auto it = known.find(path);
		ObjectStatus status;
		if (it != known.end()) {
			status = std::move(it->second);
			known.erase(it);
		} else {
			std::optional<ObjectKind> kind;
			for (const auto &interface : interfaces)
				if (!kind)
					kind = detail::kindOfInterface(interface);
			if (!kind)
				return;
			status = ObjectStatus{*kind, path, {}, {}, {}};
		}
		status.properties.clear();
		events.push_back({ObjectEvent::Type::Removed, std::move(status)});
	}

	void onChanged(sdbus::Message &message)
	{
		std::string interface;
		detail::PropertyMap changed;
		message >> interface >> changed;
		const auto kind = detail::kindOfInterface(interface);
		if (!kind)
			return;
		const std::string path = message.getPath();
		ObjectStatus status = detail::objectStatus(*kind, path, changed);
		if (auto it = known.find(path); it != known.end()) {
			status.key = it->second.key;
			status.scope = it->second.scope;
		}
		events.push_back({ObjectEvent::Type::Changed, std::move(status)});
	}
};

Watch::Watch(std::shared_ptr<detail::Session> session, std::unique_ptr<State> state)
	: session_(std::move(session)), state_(std::move(state))
{
}

// The move and reset under the session lock parallel PendingWait's (pending_wait.cpp)
// on purpose: each owns its own state.
Watch::Watch(Watch &&) noexcept = default;
Watch &Watch::operator=(Watch &&other) noexcept
{
	if (this != &other) {
		reset();
		session_ = std::move(other.session_);
		state_ = std::move(other.state_);
	}
	return *this;
}

Watch::~Watch()
{
	reset();
}

void Watch::reset()
{
	// The matches go under the lock, as everything that touches the connection.
	if (!state_)
		return;
	detail::Session::Held held(*session_);
	state_.reset();
}

Result<void> Watch::run(int stopFd)
{
	if (!state_)
		return fail(ErrorCode::InvalidArgument, "the watch was moved from");
	for (;;) {
		std::vector<ObjectEvent> events;
		sdbus::IConnection::PollData poll{};
		{
			detail::Session::Held held(*session_);
			auto dispatched = session_->dispatchPending(held);
			if (!dispatched)
				return errorOf(dispatched);
			events.swap(state_->events);
			auto data = session_->pollData();
			if (!data)
				return fail(ErrorCode::Failed, "the bus connection was closed");
			poll = *data;
		}
		for (const auto &event : events)
			state_->handler(event);
		if (!events.empty())
			continue;
		pollfd fds[2] = {{poll.fd, poll.events, 0}, {stopFd, POLLIN, 0}};
		const nfds_t count = stopFd >= 0 ? 2 : 1;
		if (::poll(fds, count, pollTimeout(poll.timeout_usec)) < 0) {
			if (errno == EINTR)
				continue;
			return fail(ErrorCode::Failed, std::string("cannot wait for the bus: ") +
							       std::strerror(errno));
		}
		if (count == 2 && fds[1].revents != 0)
			return {};
		if (fds[0].revents & (POLLHUP | POLLERR))
			return fail(ErrorCode::Failed, "the bus connection was closed");
	}
}

Result<Watch> Client::watch(Watch::Handler handler)
{
	auto state = std::make_unique<Watch::State>();
	state->handler = std::move(handler);
	auto *raw = state.get();
	const std::string fromService =
		std::string("type='signal',sender='") + detail::kBusName + "',";
	const std::string objectManager = fromService +
					  "interface='org.freedesktop.DBus.ObjectManager',path='" +
					  detail::kManagerPath + "',member=";
	const std::string propertiesChanged = fromService + "interface='" + kPropertiesInterface +
					      "',member='PropertiesChanged',path_namespace='" +
					      detail::kManagerPath + "'";
	using Callback = void (Watch::State::*)(sdbus::Message &);
	const std::pair<std::string, Callback> subscriptions[] = {
		{objectManager + "'InterfacesAdded'", &Watch::State::onAdded},
		{objectManager + "'InterfacesRemoved'", &Watch::State::onRemoved},
		{propertiesChanged, &Watch::State::onChanged},
	};
	// Subscribed first, listed second: whatever happens between the two is queued
	// in the connection and dispatched by run(), not lost.
	try {
		detail::Session::Held held(*session_);
		for (const auto &[rule, callback] : subscriptions)
			raw->matches.push_back(session_->connection->addMatch(
				rule, [raw, callback](sdbus::Message &message) {
					(raw->*callback)(message);
				}));
	} catch (const sdbus::Error &e) {
		detail::Session::Held held(*session_);
		state.reset();
		return fail(ErrorCode::Failed,
			    "cannot subscribe to the changes: " + e.getMessage());
	}
	// The objects there already, so that their changes can name key and scope. A
	// caller that may not list them all (a sandboxed one, when another scope has
	// objects) still gets the events, keyed by path.
	if (auto objects = listObjects())
		for (auto &object : *objects)
			raw->known.insert_or_assign(object.path, std::move(object));
	return Watch(session_, std::move(state));
}

} // namespace ipchub
