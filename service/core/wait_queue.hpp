// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "quota.hpp"

namespace ipchub::core {

using WaitId = uint64_t;

// The FIFO queue of one object's waits. Ids grow with every push, so the map's order
// is arrival order. Every wait counts against its connection's waits_per_connection
// and the object's waiters_per_object until it leaves the queue. A wait's done is
// called with what the grant gives (nothing, or a lock's fencing token, ...).
template <typename Request, typename Grant = void>
class WaitQueue
{
public:
	using Done = std::function<void(Result<Grant>)>;

	struct Waiter {
		ClientId client;
		Request request;
		Done done;
	};

	explicit WaitQueue(Quota &quota) : quota_(quota) {}
	WaitQueue(const WaitQueue &) = delete;
	WaitQueue &operator=(const WaitQueue &) = delete;
	~WaitQueue()
	{
		for (auto &[id, waiter] : waiters_)
			quota_.returnWait(waiter.client);
	}

	Result<WaitId> push(const ClientId &client, Request request, Done done)
	{
		const uint32_t limit = quota_.limits().waitersPerObject;
		if (waiters_.size() >= limit)
			return fail(ErrorCode::LimitExceeded,
				    std::to_string(waiters_.size()) +
					    " waits are queued on this object; waiters_per_object is " +
					    std::to_string(limit));
		if (auto taken = quota_.takeWait(client); !taken)
			return errorOf(taken);
		const WaitId id = nextId_++;
		waiters_.emplace(id, Waiter{client, std::move(request), std::move(done)});
		return id;
	}

	bool empty() const { return waiters_.empty(); }
	size_t size() const { return waiters_.size(); }
	const Waiter &front() const { return waiters_.begin()->second; }
	// Whether the wait with this id is queued and is client's.
	bool isWaitOf(WaitId id, const ClientId &client) const
	{
		auto it = waiters_.find(id);
		return it != waiters_.end() && it->second.client == client;
	}

	Waiter popFront() { return take(waiters_.begin()); }

	std::optional<Waiter> remove(WaitId id)
	{
		auto it = waiters_.find(id);
		if (it == waiters_.end())
			return std::nullopt;
		return take(it);
	}

	// Ends the queued wait with this id with error, once then() has run (the object
	// serves the waits it held back and tells of the change); nothing if it has ended.
	template <typename Then>
	void cancel(WaitId id, Error error, const Then &then)
	{
		auto waiter = remove(id);
		if (!waiter)
			return;
		then();
		waiter->done(detail::Unexpected<Error>(std::move(error)));
	}

	// Ends each of waits (taken out of the queue) with error.
	static void endAll(std::vector<Waiter> &waits, const Error &error)
	{
		for (auto &waiter : waits)
			waiter.done(detail::Unexpected<Error>(error));
	}

	std::vector<Waiter> removeClient(const ClientId &client)
	{
		std::vector<Waiter> removed;
		for (auto it = waiters_.begin(); it != waiters_.end();) {
			auto next = std::next(it);
			if (it->second.client == client)
				removed.push_back(take(it));
			it = next;
		}
		return removed;
	}

	std::vector<Waiter> removeAll()
	{
		std::vector<Waiter> removed;
		while (!waiters_.empty())
			removed.push_back(popFront());
		return removed;
	}

private:
	Waiter take(typename std::map<WaitId, Waiter>::iterator it)
	{
		Waiter waiter = std::move(it->second);
		waiters_.erase(it);
		quota_.returnWait(waiter.client);
		return waiter;
	}

	Quota &quota_;
	std::map<WaitId, Waiter> waiters_;
	WaitId nextId_ = 1;
};

} // namespace ipchub::core
