// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include "client.hpp"
#include "common/unique_fd.hpp"
#include "key.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "shared_memory_lock.hpp"

namespace ipchub::core {

// A named shared-memory object: a sealed memfd that the service hands out, so the
// data never crosses the bus. The service keeps the read-write memfd of each shared-memory object
// and one read-only descriptor of it, opened at creation: two, however many attaches.
// The kernel frees the memory once the service and every client have closed theirs.
//
// From creation the memfd is sealed against shrink and grow: nobody can truncate it
// under someone else's mapping (no SIGBUS). Seal() adds the future-write seal: no new
// writable mapping and no write() through any descriptor, already handed out or not.
// Writable mappings made before Seal() stay writable; the kernel has no way to take
// them back.
class SharedMemory
{
public:
	static constexpr ObjectKind kKind = ObjectKind::SharedMemory;

	// Checks size against the limits, charges it to the creator's
	// bytes_per_connection and makes the memfd. The bytes come back when the shared-memory
	// object ends.
	static Result<std::shared_ptr<SharedMemory>> create(ObjectInfo info, uint64_t size,
							    const ClientId &creator, Quota &quota);

	// Restoring a snapshot: the shared-memory object's own memfd, handed back by the service
	// manager. Its size and seals are checked against what the snapshot says. The
	// creator's bytes are charged again when it is still there (creator not empty).
	static Result<std::shared_ptr<SharedMemory>> restore(ObjectInfo info, uint64_t size,
							     bool sealed, UniqueFd memfd,
							     const ClientId &creator, Quota &quota);

	SharedMemory(ObjectInfo info, uint64_t size, UniqueFd memfd, ClientId creator,
		     Quota &quota);
	~SharedMemory();
	SharedMemory(const SharedMemory &) = delete;
	SharedMemory &operator=(const SharedMemory &) = delete;

	const ObjectKey &id() const { return info_.id; }
	const ObjectInfo &info() const { return info_; }
	uint64_t size() const { return size_; }
	// Whether writes are sealed off: by Seal(), or by a seal a client holding a
	// read-write descriptor added to the memfd itself (read from the kernel).
	bool sealed() const;
	// The service's read-write descriptor; empty once the shared-memory object has ended.
	const UniqueFd &memfd() const { return memfd_; }
	const ClientId &creator() const { return creator_; }
	// The connections attached now (see attachments()).
	const std::set<ClientId> &attached() const { return attached_; }
	// Connections that were handed a descriptor (by Create or Attach) and have not
	// closed the shared-memory object or left the bus since. The service cannot see a client
	// close its descriptor, only Close.
	uint32_t attachments() const { return static_cast<uint32_t>(attached_.size()); }
	SharedMemoryLock &lock() { return lock_; }
	const SharedMemoryLock &lock() const { return lock_; }

	// Told of every change of attachments, seal or lock (changed), of seal or lock
	// holder (stateChanged) and of the clients it keeps (touched).
	void setEvents(ObjectEvents *events);
	// Restoring a snapshot: client is attached again.
	void restoreAttachment(const ClientId &client) { attached_.insert(client); }

	// A new descriptor of the shared-memory object for client: a duplicate of the read-write
	// one, or of the read-only one (opened at the first read-only attach), of which the kernel
	// refuses a writable shared mapping. Writable attaches of a sealed shared-memory object are
	// PermissionDenied.
	Result<UniqueFd> attach(const ClientId &client, bool writable);
	// Adds F_SEAL_FUTURE_WRITE and F_SEAL_SEAL, those a client has not added itself.
	// Sealing a sealed shared-memory object does nothing. PermissionDenied when a client closed
	// the seals (F_SEAL_SEAL) before any write seal: the kernel refuses it for good.
	Result<void> seal();

	// The client closed the shared-memory object or left the bus: it is no longer attached, and
	// gives back the lock and its lock waits.
	void dropClient(const ClientId &client, bool closing);
	// The shared-memory object is being removed: lock waits end with error, the creator's bytes
	// come back and the service's descriptors are closed.
	void end(const Error &error);

private:
	void notify();
	// Opens readOnly_ unless it is open.
	Result<void> readOnlyFd();
	// The memfd's seals (F_GET_SEALS), -1 once the shared-memory object has ended.
	int seals() const;

	ObjectInfo info_;
	uint64_t size_;
	UniqueFd memfd_;
	UniqueFd readOnly_;
	ClientId creator_;
	Quota &quota_;
	bool charged_ = true;
	bool sealed_ = false;
	std::set<ClientId> attached_;
	SharedMemoryLock lock_;
	ObjectEvents *events_ = nullptr;
};

} // namespace ipchub::core
