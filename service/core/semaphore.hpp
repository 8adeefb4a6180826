// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "client.hpp"
#include "fast_semaphore.hpp"
#include "key.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "scope.hpp"
#include "wait_queue.hpp"

namespace ipchub::core {

struct SemaphoreOptions {
	uint32_t max = UINT32_MAX;
	// true: units a connection acquired come back when it closes or leaves the bus.
	// false: acquired units are consumed, as with a POSIX semaphore.
	bool returnOnExit = true;
	// Uncontended operations run on a page of futex words shared with the clients
	// of the object's own scope (FastSemaphore).
	bool fast = false;
};

// A named counting semaphore. Waits are served strictly in arrival order: a wait for
// many units at the head holds back smaller ones behind it, so nobody starves.
class Semaphore
{
public:
	static constexpr ObjectKind kKind = ObjectKind::Semaphore;

	static Result<void> check(uint32_t initial, const SemaphoreOptions &options);

	// fast: the page of a fast semaphore (options.fast), made for it; its words hold the
	// value and the holders from then on.
	Semaphore(ObjectInfo info, uint32_t initial, const SemaphoreOptions &options, Quota &quota,
		  std::unique_ptr<FastSemaphore> fast = nullptr);

	const ObjectKey &id() const { return info_.id; }
	const ObjectInfo &info() const { return info_; }
	uint32_t value() const { return fast_ ? fast_->value() : value_; }
	uint32_t max() const { return options_.max; }
	bool returnsOnExit() const { return options_.returnOnExit; }
	// Bus waits, and the sleepers on a fast semaphore's page.
	uint32_t waiters() const
	{
		return static_cast<uint32_t>(queue_.size()) + (fast_ ? fast_->pageWaiters() : 0);
	}
	// The page, for a fast semaphore; nullptr otherwise.
	FastSemaphore *fast() const { return fast_.get(); }
	// A fast semaphore's connection attaches to the page: its owner id and attach slot.
	Result<FastSemaphore::Attached> attachFast(const ClientId &client);
	// A fast semaphore's page changed (its watched word was woken): bus waits are tried
	// again.
	void pageChanged();
	// What ipchubd watches on a fast semaphore's page while bus waits are queued: seq
	// and the value it had before the latest try. nullopt when nothing waits.
	std::optional<uint32_t> watchedSeq() const { return watchedSeq_; }
	std::vector<std::pair<ClientId, uint32_t>> holders() const;
	uint32_t heldBy(const ClientId &client) const;

	// Told of every change of value, waiters or holders (changed), of what a snapshot
	// keeps (stateChanged: value, holders) and of the clients it keeps (touched).
	void setEvents(ObjectEvents *events) { events_ = events; }
	// Restoring a snapshot: client holds units again, as it did before.
	void restoreHolder(const ClientId &client, uint32_t units) { holders_[client] += units; }

	// Takes n units if they are free and nobody waits.
	Result<bool> tryAcquire(const ClientId &client, uint32_t n);
	// The same, for a caller that will not wait (a timeout of 0): WouldBlock if not.
	Result<void> acquireNow(const ClientId &client, uint32_t n);
	// What a wait for n units that timed out after timeoutUsec ends with.
	static Error timedOut(uint32_t n, uint64_t timeoutUsec);
	// Takes n units now (nullopt), or queues a wait whose done is called when it ends.
	Result<std::optional<WaitId>> acquire(const ClientId &client, uint32_t n, Completion done);
	// Ends a queued wait with error (a timeout); nothing if it has ended already.
	void cancelWait(WaitId id, Error error);
	// Whether the queued wait with this id is client's (a ticket it may cancel).
	bool isWaitOf(WaitId id, const ClientId &client) const
	{
		return queue_.isWaitOf(id, client);
	}
	Result<void> release(const ClientId &client, uint32_t n);
	// The client closed (cancel its waits with Cancelled) or left the bus (drop them
	// silently): its units come back either way.
	void dropClient(const ClientId &client, bool closing);
	// The semaphore is being removed: every wait ends with error.
	void end(const Error &error);

private:
	Result<void> checkCount(uint32_t n) const;
	void grant(const ClientId &client, uint32_t n);
	void giveBack(uint64_t units);
	void serve();
	void serveFast();
	void notify();

	ObjectInfo info_;
	SemaphoreOptions options_;
	uint32_t value_;
	std::map<ClientId, uint32_t> holders_;
	WaitQueue<uint32_t> queue_;
	ObjectEvents *events_ = nullptr;
	std::unique_ptr<FastSemaphore> fast_;
	std::optional<uint32_t> watchedSeq_;
};

} // namespace ipchub::core
