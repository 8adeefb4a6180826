// SPDX-License-Identifier: LGPL-2.1-or-later
#include "shared_memory_lock.hpp"

#include <string>
#include <utility>

namespace ipchub::core {

Result<void> SharedMemoryLock::checkNotHolder(const ClientId &client) const
{
	// The lock is not recursive: a second Lock from the holder would wait for itself.
	if (holder_ == client)
		return fail(ErrorCode::InvalidArgument,
			    "connection " + client + " already holds the shared-memory lock");
	return {};
}

Result<bool> SharedMemoryLock::tryLock(const ClientId &client)
{
	if (auto ok = checkNotHolder(client); !ok)
		return errorOf(ok);
	if (events_)
		events_->touched(*sharedMemory_, client);
	if (holder_ || !queue_.empty())
		return false;
	holder_ = client;
	persist(true);
	notify();
	return true;
}

Result<void> SharedMemoryLock::lockNow(const ClientId &client)
{
	auto taken = tryLock(client);
	if (!taken)
		return errorOf(taken);
	if (!*taken)
		return fail(ErrorCode::WouldBlock,
			    "the shared-memory lock is held by another connection");
	return {};
}

Error SharedMemoryLock::timedOut(uint64_t timeoutUsec)
{
	return {ErrorCode::Timeout, "the shared-memory lock was not free within " +
					    std::to_string(timeoutUsec) + " µs"};
}

Result<std::optional<WaitId>> SharedMemoryLock::lock(const ClientId &client, Completion done)
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

void SharedMemoryLock::cancelWait(WaitId id, Error error)
{
	queue_.cancel(id, std::move(error), [this] { notify(); });
}

Result<void> SharedMemoryLock::unlock(const ClientId &client)
{
	if (holder_ != client)
		return fail(ErrorCode::NotHeld,
			    "connection " + client + " does not hold the shared-memory lock");
	holder_.reset();
	serve();
	notify();
	persist(true);
	return {};
}

void SharedMemoryLock::dropClient(const ClientId &client, bool closing)
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
		queue_.endAll(waits, {ErrorCode::Cancelled, "the shared-memory object was closed"});
}

// Parallels Semaphore::end and Lock::end on purpose: each lets go of its own holders.
void SharedMemoryLock::end(const Error &error)
{
	auto waits = queue_.removeAll();
	holder_.reset();
	queue_.endAll(waits, error);
}

void SharedMemoryLock::serve()
{
	if (holder_ || queue_.empty())
		return;
	auto waiter = queue_.popFront();
	holder_ = waiter.client;
	persist(true);
	waiter.done({});
}

void SharedMemoryLock::persist(bool tellsClient)
{
	if (events_)
		events_->stateChanged(*sharedMemory_, tellsClient);
}

void SharedMemoryLock::notify()
{
	if (events_)
		events_->changed(*sharedMemory_);
}

} // namespace ipchub::core
