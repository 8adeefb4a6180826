// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The wait of one object (a semaphore's units, a lock, a shared memory's lock), blocking
// or asynchronous: a ticket rather than a pending call, since dbus-daemon slows down with
// every call that awaits a reply, and a waiter may wait long.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include <sdbus-c++/sdbus-c++.h>

#include "ipchub/result.hpp"
#include "ipchub/timeout.hpp"
#include "proxies.hpp"
#include "session.hpp"
#include "ticket_wait.hpp"

namespace ipchub::detail {

// What differs between the waits of the objects.
struct WaitMethods {
	const char *interface;
	// The call that queues the wait (Wait, WaitLock), for a timeout of usec.
	std::function<Session::MakeCall(sdbus::IProxy &proxy, uint64_t usec)> wait;
	// Whether the reply carries a token after the ticket (Lock.Wait).
	bool replyHasToken;
	// The call that gives back a grant nobody takes (Release, Unlock).
	std::function<Session::MakeCall(sdbus::IProxy &proxy)> giveBack;
};

// The wait's call on proxy, once it listens for WaitEnded (usec 0 tries once, so it
// fails at once with WouldBlock and needs no signal).
template <typename Proxy>
Result<WaitCall> prepareWait(Session &session, Proxy &proxy, const WaitMethods &methods,
			     uint64_t usec)
{
	if (usec != 0)
		if (auto listening = listen(proxy); !listening)
			return errorOf(listening);
	auto &bus = proxy.getProxy();
	return WaitCall{session,
			bus,
			proxy.tickets,
			methods.interface,
			methods.wait(bus, usec),
			methods.replyHasToken};
}

// Sends the give-back of methods without waiting for the reply.
inline std::function<void()> giveBackOf(Session &session, sdbus::IProxy &proxy,
					const WaitMethods &methods)
{
	return [&session, &proxy, make = methods.giveBack(proxy)] { session.send(proxy, make()); };
}

// Waits at most limit on the object of proxy (what names it in the error of a closed
// one): the grant's token, or the error that ended the wait.
template <typename Proxy>
Result<uint64_t> awaitObject(Session &session, const std::shared_ptr<Proxy> &proxy,
			     const char *what, const WaitMethods &methods, Timeout limit)
{
	const std::chrono::microseconds timeout = limit.duration();
	if (!proxy)
		return closedError(what);
	Session::Held held(session);
	auto call = prepareWait(session, *proxy, methods, timeoutUsec(timeout));
	if (!call)
		return errorOf(call);
	return awaitWait(held, *call, giveBackOf(session, call->proxy, methods), timeout);
}

// Starts a wait like awaitObject's whose outcome runs complete from Client::process();
// a closed object or a refused subscription ends it at once, the same way.
template <typename Proxy>
std::shared_ptr<AsyncWait> startObjectWait(Session &session, const std::shared_ptr<Proxy> &proxy,
					   const char *what, const WaitMethods &methods,
					   Timeout limit,
					   std::function<void(Result<uint64_t>)> complete)
{
	Session::Held held(session);
	if (!proxy)
		return failedAsyncWait(session, closedError(what).value(), std::move(complete));
	const std::chrono::microseconds timeout = limit.duration();
	auto call = prepareWait(session, *proxy, methods, timeoutUsec(timeout));
	if (!call)
		return failedAsyncWait(session, call.error(), std::move(complete));
	return startAsyncWait(held, *call, proxy, giveBackOf(session, call->proxy, methods),
			      timeout, std::move(complete));
}

} // namespace ipchub::detail
