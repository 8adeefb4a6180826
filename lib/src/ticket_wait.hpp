// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "ipchub/result.hpp"
#include "session.hpp"

namespace ipchub::detail {

// One wait through Wait (or WaitLock) and its WaitEnded signal. Filled in by the
// dispatch of the reply and of the signal, under the session lock.
struct TicketWait {
	// 0 until Wait's reply queued the wait.
	uint64_t ticket = 0;
	bool ended = false;
	// The grant's fencing token (locks).
	uint64_t token = 0;
	// "" for a grant, else the D-Bus error name that ended the wait.
	std::string error;
	std::string message;
	// Nobody waits for the outcome any more: a grant is given back when it comes.
	bool abandoned = false;
	bool cancelAnswered = false;
	// Gives back a grant nobody takes (Release, Unlock): sent, not waited for.
	std::function<void()> giveBack;
	// Runs when the wait ends, in the dispatch that ends it.
	std::function<void()> onEnded;

	void end(uint64_t grantToken, std::string errorName, std::string errorMessage);
};

// The queued waits of one object on this connection, by ticket.
class TicketTable
{
public:
	void add(const std::shared_ptr<TicketWait> &wait) { queued_[wait->ticket] = wait; }
	void remove(uint64_t ticket) { queued_.erase(ticket); }
	// WaitEnded for ticket; nothing for a ticket that is not ours.
	void ended(uint64_t ticket, uint64_t token, const std::string &error,
		   const std::string &message);
	// Ends every wait (ipchubd left the bus: no WaitEnded will come).
	void endAll(const std::string &error, const std::string &message);

private:
	std::map<uint64_t, std::shared_ptr<TicketWait>> queued_;
};

// How to wait on one object: the call that queues the wait and what its reply holds.
struct WaitCall {
	Session &session;
	sdbus::IProxy &proxy;
	TicketTable &table;
	const char *interface;
	// Wait(...) or WaitLock(...) with its arguments.
	Session::MakeCall make;
	// Whether the reply carries a token after the ticket (Lock.Wait).
	bool replyHasToken;
};

// Sends the wait's call with a reply deadline; its reply's dispatch queues the ticket
// in the table (or ends the wait, granted at once). A reply after the caller gave up
// still does, and cancels or gives back. The call's own error is returned.
Result<void> startWait(Session::Held &held, const WaitCall &call,
		       const std::shared_ptr<TicketWait> &wait, Deadline replyBy);

// A wait whose outcome runs from Client::process(), and what its handle needs.
struct AsyncWait {
	std::shared_ptr<TicketWait> ticket;
	// The object's proxy, kept while the wait may still send (CancelWait, a give-back).
	std::shared_ptr<void> owner;
	sdbus::IProxy *proxy = nullptr;
	const char *interface = nullptr;
	std::chrono::microseconds timeout{0};
	// The outcome is queued for process() (or the wait was cancelled).
	bool done = false;
	bool cancelled = false;
	// The library cancelled the queued wait at its timeout's margin.
	bool timedOut = false;
	// The completion ran.
	bool ran = false;
	std::function<void(Result<uint64_t>)> complete;

	// Cancels the queued ticket, if any, without waiting for the answer.
	void sendCancel(Session &session);
};

// Starts a wait like awaitWait's, bounded the same way, whose outcome (the grant's
// token or the error) runs complete from Client::process(). owner keeps the proxy.
std::shared_ptr<AsyncWait> startAsyncWait(Session::Held &held, const WaitCall &call,
					  std::shared_ptr<void> owner,
					  std::function<void()> giveBack,
					  std::chrono::microseconds timeout,
					  std::function<void(Result<uint64_t>)> complete);

// An async wait that ends at once with error (the object was closed, say), from the
// next process().
std::shared_ptr<AsyncWait> failedAsyncWait(Session &session, Error error,
					   std::function<void(Result<uint64_t>)> complete);

// An async wait granted at once (a fast page's free units or lock), from the next
// process(), under the lock; giveBack runs instead if it is cancelled before.
std::shared_ptr<AsyncWait> grantedAsyncWait(Session &session, uint64_t token,
					    std::function<void()> giveBack,
					    std::function<void(Result<uint64_t>)> complete);

// Cancels an async wait (see PendingWait::cancel), under the lock.
void cancelAsyncWait(Session &session, AsyncWait &wait);

// A blocking wait of at most timeout (plus the margins): the grant's token, or the error
// that ended the wait. ipchubd ends the wait at timeout; if its WaitEnded has not come
// kEndMargin later, the wait is cancelled, and if the cancel is not answered by
// kReplyMargin, it is left behind: a grant that comes later is given back.
Result<uint64_t> awaitWait(Session::Held &held, const WaitCall &call,
			   std::function<void()> giveBack, std::chrono::microseconds timeout);

} // namespace ipchub::detail
