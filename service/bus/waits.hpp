// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/result.hpp"

#include "core/client.hpp"
#include "core/wait_queue.hpp"
#include "errors.hpp"
#include "event_loop.hpp"
#include "wait_ticket.hpp"

namespace ipchub::bus {

// The waits of the three kinds (a semaphore's units, a shared-memory object's lock, a lock's
// grants) asked for in one shape, with a deferred reply (Acquire, Lock, AcquireHandle)
// or a ticket answered by WaitEnded (Wait, WaitLock). Each kind describes one request
// in a small struct:
//   using Grant = ...;  // what a grant gives: a token, or std::monostate
//   Result<Grant> now() const;                      // at once, or WouldBlock
//   Result<std::optional<Grant>> tryNow() const;    // at once, or nullopt
//   Result<WaitAttempt<Grant>> queue(WaitDone<Grant>) const;  // granted, or queued
//   std::function<void(core::WaitId)> expire(uint64_t timeoutUsec) const;
//       // ends a queued wait with the kind's Timeout, unless the object has gone
template <typename Grant>
using WaitDone = std::function<void(Result<Grant>)>;
struct QueuedWait {
	core::WaitId id;
};
template <typename Grant>
using WaitAttempt = std::variant<Grant, QueuedWait>;

// The shape above for the kinds whose grant gives nothing (a semaphore's units, a
// shared-memory object's lock), from what their core offers. Derived provides
//   Result<void> takeNow() const;                                  // or WouldBlock
//   Result<bool> tryTake() const;
//   Result<std::optional<core::WaitId>> queueWait(core::Completion) const;  // nullopt: granted
// and expire().
template <typename Derived>
struct PlainWaitRequest {
	using Grant = std::monostate;

	Result<Grant> now() const
	{
		if (auto taken = self().takeNow(); !taken)
			return errorOf(taken);
		return Grant{};
	}
	Result<std::optional<Grant>> tryNow() const
	{
		auto taken = self().tryTake();
		if (!taken)
			return errorOf(taken);
		return *taken ? std::optional<Grant>(Grant{}) : std::nullopt;
	}
	Result<WaitAttempt<Grant>> queue(const WaitDone<Grant> &done) const
	{
		auto queued = self().queueWait([done](Result<void> outcome) {
			done(outcome ? Result<Grant>(Grant{}) : Result<Grant>(errorOf(outcome)));
		});
		if (!queued)
			return errorOf(queued);
		if (!*queued)
			return Grant{};
		return QueuedWait{**queued};
	}

private:
	const Derived &self() const { return static_cast<const Derived &>(*this); }
};

// Grants now or queues the wait, and arms the timer that ends it after timeoutUsec;
// answer is called once with the grant or the error. A timeout of 0 never waits.
// timer: where the timer lives (the deferred reply's), dropped when the wait ends.
template <typename Request>
void waitThenAnswer(const Request &request, EventLoop &loop, uint64_t timeoutUsec,
		    std::unique_ptr<Timer> &timer, const WaitDone<typename Request::Grant> &answer)
{
	if (timeoutUsec == 0)
		return answer(request.now());
	auto attempt = request.queue(answer);
	if (!attempt)
		return answer(errorOf(attempt));
	if (const auto *granted = std::get_if<typename Request::Grant>(&*attempt))
		return answer(*granted);
	timer = loop.addTimer(timeoutUsec,
			      [expire = request.expire(timeoutUsec),
			       id = std::get<QueuedWait>(*attempt).id] { expire(id); });
}

// Wait/WaitLock: grants now (ticket 0 and the grant), or queues the wait and returns
// its ticket; WaitEnded tells destination alone how it ended, always after this reply
// (it is sent from a later message or timer). Throws the error of a refused request.
template <typename Request>
std::pair<uint64_t, typename Request::Grant>
waitForTicket(const Request &request, EventLoop &loop, uint64_t timeoutUsec,
	      const std::shared_ptr<WaitEndedSender> &sender, const std::string &destination)
{
	using Grant = typename Request::Grant;
	if (timeoutUsec == 0)
		return {0, unwrap(request.now())};
	// Granted now and nobody waiting: no completion to build.
	if (auto now = unwrap(request.tryNow()))
		return {0, *now};
	auto ticket = std::make_shared<WaitTicket>();
	auto attempt = request.queue([sender, ticket, destination](Result<Grant> outcome) {
		ticket->timer.reset();
		if constexpr (std::is_same_v<Grant, std::monostate>)
			sender->send(destination, ticket->id,
				     outcome ? Result<void>{} : Result<void>(errorOf(outcome)));
		else if (outcome)
			sender->send(destination, ticket->id, {}, *outcome);
		else
			sender->send(destination, ticket->id, errorOf(outcome), Grant{});
	});
	if (!attempt)
		throw toDbusError(attempt.error());
	if (const auto *granted = std::get_if<Grant>(&*attempt))
		return {0, *granted};
	ticket->id = std::get<QueuedWait>(*attempt).id;
	ticket->timer = loop.addTimer(timeoutUsec, [expire = request.expire(timeoutUsec),
						    id = ticket->id] { expire(id); });
	return {ticket->id, Grant{}};
}

// CancelWait: ends the waiter's own queued wait with Cancelled; nothing for a ticket
// that is not its own or has ended.
template <typename Queue>
void cancelTicket(Queue &queue, uint64_t ticket, const core::ClientId &waiter)
{
	if (queue.isWaitOf(ticket, waiter))
		queue.cancelWait(ticket, waitCancelled(ticket));
}

} // namespace ipchub::bus
