// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ticket_wait.hpp"

#include <utility>

namespace ipchub::detail {

namespace {

const std::string kCancelled = dbusErrorName(ErrorCode::Cancelled);

// Where the reply to a wait's call goes. The proxy and its table outlive every pending
// call of theirs (a proxy cancels its pending calls when it goes).
struct ReplyTarget {
	Session *session;
	sdbus::IProxy *proxy;
	TicketTable *table;
	const char *interface;
	bool hasToken;

	explicit ReplyTarget(const WaitCall &call)
		: session(&call.session), proxy(&call.proxy), table(&call.table),
		  interface(call.interface), hasToken(call.replyHasToken)
	{
	}

	// The ticket (0: granted at once) and the token of the reply to the wait's call.
	Result<std::pair<uint64_t, uint64_t>> read(sdbus::MethodReply &reply) const
	{
		uint64_t ticket = 0;
		uint64_t token = 0;
		try {
			reply >> ticket;
			if (hasToken)
				reply >> token;
		} catch (const sdbus::Error &e) {
			return fail(ErrorCode::Failed,
				    "unexpected reply from ipchubd: " + e.getMessage());
		}
		return std::pair{ticket, token};
	}

	// Queues the ticket in the table, or ends the wait granted at once. A wait given up
	// meanwhile has its ticket cancelled.
	void queue(const std::shared_ptr<TicketWait> &wait, uint64_t ticket, uint64_t token) const
	{
		if (ticket == 0) {
			wait->end(token, "", "");
			return;
		}
		wait->ticket = ticket;
		table->add(wait);
		if (wait->abandoned) {
			auto cancel = proxy->createMethodCall(interface, "CancelWait");
			cancel << ticket;
			session->send(*proxy, cancel);
		}
	}
};

} // namespace

void TicketWait::end(uint64_t grantToken, std::string errorName, std::string errorMessage)
{
	if (ended)
		return;
	ended = true;
	token = grantToken;
	error = std::move(errorName);
	message = std::move(errorMessage);
	if (abandoned && error.empty() && giveBack)
		giveBack();
	if (onEnded)
		onEnded();
}

void TicketTable::ended(uint64_t ticket, uint64_t token, const std::string &error,
			const std::string &message)
{
	auto it = queued_.find(ticket);
	if (ticket == 0 || it == queued_.end())
		return;
	auto wait = std::move(it->second);
	queued_.erase(it);
	wait->end(token, error, message);
}

void TicketTable::endAll(const std::string &error, const std::string &message)
{
	auto queued = std::move(queued_);
	queued_.clear();
	for (auto &[ticket, wait] : queued)
		wait->end(0, error, message);
}

Result<void> startWait(Session::Held &held, const WaitCall &call,
		       const std::shared_ptr<TicketWait> &wait, Deadline replyBy)
{
	const ReplyTarget target(call);
	// Runs in the reply's dispatch, before the WaitEnded that may follow it.
	auto queue = [target, wait](sdbus::MethodReply &reply, bool abandoned) {
		auto read = target.read(reply);
		if (!read)
			return;
		if (abandoned)
			wait->abandoned = true;
		target.queue(wait, read->first, read->second);
	};
	auto replied = call.session.call(held, call.proxy, call.make, replyBy, queue);
	if (!replied)
		return errorOf(replied);
	return {};
}

Result<uint64_t> awaitWait(Session::Held &held, const WaitCall &call,
			   std::function<void()> giveBack, std::chrono::microseconds timeout)
{
	// Saturating: a timeout too large for the clock (kForever among them) is no limit.
	const Deadline serviceEnds = Deadline::after(timeout);
	const Deadline bound = serviceEnds.plus(kReplyMargin);
	const Deadline endBy = serviceEnds.plus(kEndMargin);
	auto wait = std::make_shared<TicketWait>();
	wait->giveBack = std::move(giveBack);
	if (auto started = startWait(held, call, wait, bound); !started)
		return errorOf(started);

	auto waited = call.session.waitUntil(
		held, [&] { return wait->ended; }, endBy);
	bool cancelled = false;
	if (waited && !*waited) {
		// ipchubd is late (stopped, overloaded): cancel, and take what it answers
		// by the bound. A grant sent before the cancel comes before its reply.
		cancelled = true;
		auto cancel = call.proxy.createMethodCall(call.interface, "CancelWait");
		cancel << wait->ticket;
		call.session.send(call.proxy, cancel, [wait](sdbus::MethodReply &, bool) {
			wait->cancelAnswered = true;
		});
		waited = call.session.waitUntil(
			held, [&] { return wait->ended || wait->cancelAnswered; }, bound);
	}
	if (!wait->ended) {
		wait->abandoned = true;
		if (!waited)
			return errorOf(waited);
		return fail(ErrorCode::Timeout,
			    "ipchubd did not end the wait within the timeout of " +
				    std::to_string(timeout.count()) + " µs");
	}
	if (wait->error.empty())
		return wait->token;
	if (cancelled && wait->error == kCancelled)
		return fail(ErrorCode::Timeout,
			    "the wait timed out after " + std::to_string(timeout.count()) + " µs");
	return fail(errorCodeFromDbusName(wait->error), wait->message);
}

namespace {

// What a wait that ended says: the token, or its error (Timeout for a wait the library
// cancelled at its timeout's margin).
Result<uint64_t> outcomeOf(const TicketWait &wait, bool timedOut, std::chrono::microseconds timeout)
{
	if (wait.error.empty())
		return wait.token;
	if (timedOut && wait.error == kCancelled)
		return fail(ErrorCode::Timeout,
			    "the wait timed out after " + std::to_string(timeout.count()) + " µs");
	return fail(errorCodeFromDbusName(wait.error), wait.message);
}

} // namespace

void AsyncWait::sendCancel(Session &session)
{
	if (ticket->ticket == 0 || ticket->ended)
		return;
	auto call = proxy->createMethodCall(interface, "CancelWait");
	call << ticket->ticket;
	session.send(*proxy, call);
}

std::shared_ptr<AsyncWait> startAsyncWait(Session::Held &held, const WaitCall &call,
					  std::shared_ptr<void> owner,
					  std::function<void()> giveBack,
					  std::chrono::microseconds timeout,
					  std::function<void(Result<uint64_t>)> complete)
{
	Session *session = &call.session;
	auto async = std::make_shared<AsyncWait>();
	async->ticket = std::make_shared<TicketWait>();
	async->owner = std::move(owner);
	async->proxy = &call.proxy;
	async->interface = call.interface;
	async->timeout = timeout;
	async->complete = std::move(complete);
	auto wait = async->ticket;
	wait->giveBack = std::move(giveBack);
	std::weak_ptr<AsyncWait> weak = async;
	wait->onEnded = [session, weak] {
		auto async = weak.lock();
		if (!async || async->done)
			return;
		async->done = true;
		session->queueCompletion(async, outcomeOf(*async->ticket, async->timedOut,
							  async->timeout));
	};

	const Deadline serviceEnds = Deadline::after(timeout);
	const Deadline bound = serviceEnds.plus(kReplyMargin);
	const ReplyTarget target(call);
	try {
		session->sent();
		call.proxy.callMethod(
			call.make(),
			[target, wait](sdbus::MethodReply &reply, const sdbus::Error *error) {
				if (error) {
					wait->end(0, error->getName(), error->getMessage());
					return;
				}
				auto read = target.read(reply);
				if (!read) {
					wait->end(0, dbusErrorName(ErrorCode::Failed),
						  read.error().message);
					return;
				}
				target.queue(wait, read->first, read->second);
			},
			bound.plus(std::chrono::seconds(25)).busTimeoutUsec());
	} catch (const sdbus::Error &e) {
		return failedAsyncWait(*session,
				       Error{ErrorCode::Failed,
					     "cannot send to ipchubd: " + e.getMessage()},
				       std::move(async->complete));
	}
	// ipchubd late (stopped, overloaded): cancel at the first margin, give up at the
	// second; a grant that comes after is given back (the wait is abandoned).
	session->addTimer(serviceEnds.plus(kEndMargin), [session, weak] {
		auto async = weak.lock();
		if (!async || async->done)
			return;
		async->timedOut = true;
		async->sendCancel(*session);
	});
	session->addTimer(bound, [session, weak] {
		auto async = weak.lock();
		if (!async || async->done)
			return;
		async->done = true;
		async->ticket->abandoned = true;
		session->queueCompletion(
			async, fail(ErrorCode::Timeout,
				    "ipchubd did not end the wait within the timeout of " +
					    std::to_string(async->timeout.count()) + " µs"));
	});
	session->arm(held);
	return async;
}

std::shared_ptr<AsyncWait> failedAsyncWait(Session &session, Error error,
					   std::function<void(Result<uint64_t>)> complete)
{
	auto async = std::make_shared<AsyncWait>();
	async->ticket = std::make_shared<TicketWait>();
	async->complete = std::move(complete);
	async->done = true;
	session.queueCompletion(async, Unexpected<Error>(std::move(error)));
	return async;
}

std::shared_ptr<AsyncWait> grantedAsyncWait(Session &session, uint64_t token,
					    std::function<void()> giveBack,
					    std::function<void(Result<uint64_t>)> complete)
{
	auto async = std::make_shared<AsyncWait>();
	async->ticket = std::make_shared<TicketWait>();
	async->ticket->giveBack = std::move(giveBack);
	async->complete = std::move(complete);
	async->done = true;
	session.queueCompletion(async, token);
	return async;
}

void cancelAsyncWait(Session &session, AsyncWait &wait)
{
	if (wait.cancelled || wait.ran)
		return;
	wait.cancelled = true;
	// A queued completion is dropped by process(), which gives back its grant.
	if (wait.done)
		return;
	wait.done = true;
	wait.ticket->abandoned = true;
	wait.sendCancel(session);
}

} // namespace ipchub::detail
