// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "common/object_path.hpp"
#include "common/unique_fd.hpp"
#include "deadline.hpp"
#include "handshake_relay.hpp"
#include "ipchub/result.hpp"
#include "listeners.hpp"

namespace ipchub::detail {

struct AsyncWait;

using common::kBusName;
using common::kManagerPath;

// How long ipchubd may take to answer beyond a caller's timeout before the library gives
// up on it: a wait's WaitEnded first, then the reply to its CancelWait.
inline constexpr std::chrono::milliseconds kEndMargin{100};
inline constexpr std::chrono::milliseconds kReplyMargin{150};

// The bus connection shared by a Client and every object it handed out, and the one
// lock that every use of it takes: sd-bus is not thread-safe. A thread that waits
// sleeps without the lock; one waiting thread at a time polls the connection and
// dispatches what arrives for everyone, the others sleep on a condition variable.
class Session
{
public:
	// The session lock, held by a thread that uses the connection. Letting it go wakes
	// a thread that polls, if what was done meanwhile may concern its poll.
	class Held
	{
	public:
		explicit Held(Session &session);
		~Held();
		Held(const Held &) = delete;
		Held &operator=(const Held &) = delete;

	private:
		friend class Session;
		Session &session_;
		std::unique_lock<std::mutex> lock_;
	};

	// Runs in a reply's dispatch (in order with the signals after it) for a successful
	// reply; abandoned when the caller gave up waiting for it.
	using ReplyHook = std::function<void(sdbus::MethodReply &reply, bool abandoned)>;
	using MakeCall = std::function<sdbus::MethodCall()>;

	Session();
	~Session();
	Session(const Session &) = delete;
	Session &operator=(const Session &) = delete;

	// Declared first so that it goes last, after the connection it carries.
	std::unique_ptr<HandshakeRelay> relay;
	std::unique_ptr<sdbus::IConnection> connection;
	// The subscriptions' shared part (under the lock); goes before the connection.
	Notifier notifier;

	// Sends the call make builds and waits for its reply until deadline. A call that
	// finds nobody owning the service's name is sent again while ipchubd restarts, if
	// this session has been served before (else it fails at once: no ipchubd); a call
	// in flight when ipchubd died is not (it may have taken effect).
	Result<sdbus::MethodReply> call(Held &held, sdbus::IProxy &proxy, const MakeCall &make,
					Deadline deadline, ReplyHook hook = {});
	// Sends a call whose reply nobody waits for (hook, if any, sees it). Under the lock:
	// from a thread that holds it, or from a dispatch.
	void send(sdbus::IProxy &proxy, const sdbus::MethodCall &call, ReplyHook hook = {});
	// Dispatches the connection until done() holds (true) or deadline passes (false);
	// sleeps without the lock meanwhile. Fails if the connection does.
	Result<bool> waitUntil(Held &held, const std::function<bool()> &done, Deadline deadline);

	// Dispatches what has arrived, without waiting; whether anything was.
	Result<bool> dispatchPending(Held &held) { return dispatch(held); }

	// The deadline of a call that takes no timeout of its own.
	Deadline callDeadline() const { return Deadline::after(callTimeout_); }
	void setCallTimeout(std::chrono::microseconds timeout) { callTimeout_ = timeout; }

	// A proxy of any object of the service on this connection (under the lock).
	std::unique_ptr<sdbus::IProxy> proxy(const std::string &path) const
	{
		return sdbus::createProxy(*connection, kBusName, path);
	}
	sdbus::IProxy &manager(Held &held);

	// The event loop's side (Client::fd, process, nextTimeout). loopFd is an epoll fd,
	// made on first use, readable when the connection, a timer or a completion wants
	// process(): it never changes afterwards.
	int loopFd(Held &held);
	Result<void> process();
	std::optional<std::chrono::microseconds> nextTimeout(Held &held);
	// Says that a message was sent outside call() and send(), for the polling thread.
	void sent() { dirty_ = true; }
	// Runs fire under the lock from the first process() at or after when.
	void addTimer(Deadline when, std::function<void()> fire);
	// Runs the wait's completion with outcome from the next process(), outside the
	// lock, unless the wait is cancelled by then (a grant is given back then).
	void queueCompletion(std::shared_ptr<AsyncWait> wait, Result<uint64_t> outcome);
	// Has the next process() run what listener has to tell, outside the lock (once,
	// however often it is queued before).
	void queueListener(std::shared_ptr<Listener> listener);
	// Points the event loop's fd at what the connection and the timers wait for.
	void arm(Held &held);
	// The connection's poll data; nullopt once it is closed (sdbus-c++ throws then).
	std::optional<sdbus::IConnection::PollData> pollData() const;

	// Counts ipchubd's comings and goings (NameOwnerChanged of its name) and the loss of
	// the connection, as far as this session has read its connection: a fast object's
	// page is valid for the count it was attached in. watchService subscribes (once).
	Result<void> watchService(Held &held);
	uint64_t serviceEpoch() const { return serviceEpoch_.load(std::memory_order_acquire); }

private:
	Result<bool> dispatch(Held &held);
	void poke();

	std::mutex mutex_;
	std::condition_variable progressed_;
	// A thread is in poll(2) on the connection, without the lock.
	bool polling_ = false;
	// Something was sent or read since the poller took its poll data.
	bool dirty_ = false;
	// Wakes the thread in poll(2).
	UniqueFd wake_;
	// ipchubd answered a call of this session once: a missing name is a restart then.
	bool served_ = false;
	std::chrono::microseconds callTimeout_{std::chrono::seconds(25)};
	std::unique_ptr<sdbus::IProxy> manager_;

	// The event loop's epoll fd, its timer fd, and an eventfd that says completions wait.
	UniqueFd epoll_;
	UniqueFd timer_;
	UniqueFd notify_;
	std::multimap<Deadline::Clock::time_point, std::function<void()>> timers_;
	std::vector<std::pair<std::shared_ptr<AsyncWait>, Result<uint64_t>>> completions_;
	std::vector<std::shared_ptr<Listener>> listeners_;

	std::atomic<uint64_t> serviceEpoch_{0};
	sdbus::Slot serviceWatch_;
};

// The error a failed call reports, with what the restart of ipchubd means for it (see
// docs/persistence.md).
Error callError(const sdbus::Error &error);
// Whether a call failed because nobody owns io.github.ipchub1.
bool isNoService(const sdbus::Error &error);
// How long the library keeps sending a call again while ipchubd restarts
// ($IPCHUB_RESTART_WAIT_MS, 5000 by default).
std::chrono::milliseconds restartWait();

// Builds a call of method on interface with args.
template <typename... Args>
Session::MakeCall methodCall(sdbus::IProxy &proxy, const char *interface, const char *method,
			     Args... args)
{
	return [&proxy, interface, method, args...] {
		auto call = proxy.createMethodCall(interface, method);
		((call << args), ...);
		return call;
	};
}

// Reads a reply's values into a T (a tuple of them for several); an error if the reply
// does not carry them.
template <typename T>
Result<T> readReply(Result<sdbus::MethodReply> reply)
{
	if (!reply)
		return errorOf(reply);
	try {
		T value{};
		if constexpr (!std::is_void_v<T>)
			*reply >> value;
		return value;
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "unexpected reply from ipchubd: " + e.getMessage());
	}
}

// Reads a reply's values into values.
template <typename... Values>
Result<void> readValues(Result<sdbus::MethodReply> &reply, Values &...values)
{
	if (!reply)
		return errorOf(reply);
	try {
		(*reply >> ... >> values);
		return {};
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "unexpected reply from ipchubd: " + e.getMessage());
	}
}

template <>
inline Result<void> readReply<void>(Result<sdbus::MethodReply> reply)
{
	if (!reply)
		return errorOf(reply);
	return {};
}

// The value of property name of interface on proxy's object.
template <typename T>
Result<T> getProperty(Session &session, Session::Held &held, sdbus::IProxy &proxy,
		      const char *interface, const char *name)
{
	auto variant = readReply<sdbus::Variant>(
		session.call(held, proxy,
			     methodCall(proxy, "org.freedesktop.DBus.Properties", "Get",
					std::string(interface), std::string(name)),
			     session.callDeadline()));
	if (!variant)
		return errorOf(variant);
	try {
		return variant->get<T>();
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, std::string("unexpected type of property ") + name +
						       ": " + e.getMessage());
	}
}

// The timeout_usec argument of a wait: UINT64_MAX (no limit) for kForever, 0 (try
// once) for zero or less.
uint64_t timeoutUsec(std::chrono::microseconds timeout);

} // namespace ipchub::detail
