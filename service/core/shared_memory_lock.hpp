// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <variant>

#include "client.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "wait_queue.hpp"

namespace ipchub::core {

// The lock of a shared-memory object, what QSharedMemory::lock() gives: one
// exclusive holder at a time, waits served strictly in arrival order. The lock is
// advisory: it orders the clients that use it, the memory itself stays writable.
class SharedMemoryLock
{
public:
	explicit SharedMemoryLock(Quota &quota) : queue_(quota) {}

	// The holder's unique name, or nullopt while nobody holds the lock.
	const std::optional<ClientId> &holder() const { return holder_; }
	uint32_t waiters() const { return static_cast<uint32_t>(queue_.size()); }

	// Told, as the shared-memory object shared-memory object, of every change of holder or
	// waiters (changed), of holder (stateChanged) and of the clients it keeps (touched).
	void setEvents(ObjectEvents *events, const ObjectKey *sharedMemory)
	{
		events_ = events;
		sharedMemory_ = sharedMemory;
	}
	// Restoring a snapshot: client holds the lock again.
	void restoreHolder(const ClientId &client) { holder_ = client; }

	// Takes the lock if nobody holds it and nobody waits for it.
	Result<bool> tryLock(const ClientId &client);
	// The same, for a caller that will not wait (a timeout of 0): WouldBlock if not.
	Result<void> lockNow(const ClientId &client);
	// What a wait that timed out after timeoutUsec ends with.
	static Error timedOut(uint64_t timeoutUsec);
	// Takes the lock now (nullopt), or queues a wait whose done is called when it ends.
	Result<std::optional<WaitId>> lock(const ClientId &client, Completion done);
	// Ends a queued wait with error (a timeout); nothing if it has ended already.
	void cancelWait(WaitId id, Error error);
	// Whether the queued wait with this id is client's (a ticket it may cancel).
	bool isWaitOf(WaitId id, const ClientId &client) const
	{
		return queue_.isWaitOf(id, client);
	}
	// NotHeld unless client holds the lock.
	Result<void> unlock(const ClientId &client);
	// The client closed (its waits end with Cancelled) or left the bus (they are
	// dropped silently); the lock passes on if it held it.
	void dropClient(const ClientId &client, bool closing);
	// The shared-memory object is being removed: every wait ends with error.
	void end(const Error &error);

private:
	Result<void> checkNotHolder(const ClientId &client) const;
	// Hands a free lock to the first waiter.
	void serve();
	void notify();
	void persist(bool tellsClient);

	std::optional<ClientId> holder_;
	WaitQueue<std::monostate> queue_;
	ObjectEvents *events_ = nullptr;
	const ObjectKey *sharedMemory_ = nullptr;
};

} // namespace ipchub::core
