// SPDX-License-Identifier: LGPL-2.1-or-later
#include "segment_lock.hpp"

#include <string>
#include <utility>

namespace ipchub::core {

Result<void> SegmentLock::checkNotHolder(const ClientId &client) const
{
	// The lock is not recursive: a second Lock from the holder would wait for itself.
	if (holder_ == client)
		return fail(ErrorCode::InvalidArgument,
			    "connection " + client + " already holds the segment lock");
	return {};
}

Result<bool> SegmentLock::tryLock(const ClientId &client)
{
	if (auto ok = checkNotHolder(client); !ok)
		return errorOf(ok);
	if (events_)
		events_->touched(*segment_, client);
	if (holder_ || !queue_.empty())
		return false;
	holder_ = client;
	persist(true);
	notify();
	return true;
}

Result<void> SegmentLock::lockNow(const ClientId &client)
{
	auto taken = tryLock(client);
	if (!taken)
		return errorOf(taken);
	if (!*taken)
		return fail(ErrorCode::WouldBlock,
			    "the segment lock is held by another connection");
	return {};
}

Error SegmentLock::timedOut(uint64_t timeoutUsec)
{
	return {ErrorCode::Timeout,
		"the segment lock was not free within " + std::to_string(timeoutUsec) + " µs"};
}

Result<std::optional<WaitId>> SegmentLock::lock(const ClientId &client, Completion done)
{
	auto now = tryLock(client);
	if (!now)
		return errorOf(now);
	if (*now)
		return std::optional<WaitId>{};
	auto id = queue_.push(client, {}, std::move(done));
	if (!id)
		return errorOf(id);
	notify();
	return std::optional<WaitId>{*id};
}

void SegmentLock::cancelWait(WaitId id, Error error)
{
	queue_.cancel(id, std::move(error), [this] { notify(); });
}

Result<void> SegmentLock::unlock(const ClientId &client)
{
	if (holder_ != client)
		return fail(ErrorCode::NotHeld,
			    "connection " + client + " does not hold the segment lock");
	holder_.reset();
	serve();
	notify();
	persist(true);
	return {};
}

void SegmentLock::dropClient(const ClientId &client, bool closing)
{
	auto waits = queue_.removeClient(client);
	const bool held = holder_ == client;
	if (waits.empty() && !held)
		return;
	if (held) {
		holder_.reset();
		serve();
		persist(false);
	}
	notify();
	if (closing)
		queue_.endAll(waits, {ErrorCode::Cancelled, "the segment was closed"});
}

// Parallels Semaphore::end and Lock::end on purpose: each lets go of its own holders.
void SegmentLock::end(const Error &error)
{
	auto waits = queue_.removeAll();
	holder_.reset();
	queue_.endAll(waits, error);
}

void SegmentLock::serve()
{
	if (holder_ || queue_.empty())
		return;
	auto waiter = queue_.popFront();
	holder_ = waiter.client;
	persist(true);
	waiter.done({});
}

void SegmentLock::persist(bool tellsClient)
{
	if (events_)
		events_->stateChanged(*segment_, tellsClient);
}

void SegmentLock::notify()
{
	if (events_)
		events_->changed(*segment_);
}

} // namespace ipchub::core
