// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <functional>

#include <ipchub/object_handle.hpp>
#include <ipchub/pending_wait.hpp>
#include <ipchub/result.hpp>
#include <ipchub/semaphore.hpp>
#include <ipchub/span.hpp>
#include <ipchub/subscription.hpp>
#include <ipchub/timeout.hpp>

namespace ipchub {

namespace detail {
class Session;
class SharedMemoryProxy;
class Mapping;
} // namespace detail

// How a shared-memory object is mapped.
enum class Access {
	// PROT_READ of a descriptor opened read-only: the kernel refuses to make the
	// mapping writable, so a stray write is a SIGSEGV in the reader, not a change
	// everybody sees.
	ReadOnly,
	ReadWrite,
};

struct SharedMemoryOptions {
	// Open the shared-memory object if it exists already, instead of AlreadyExists. Its size
	// must be the size asked for, and it must not be sealed.
	bool openExisting = false;
	// Keep the shared-memory object when nobody references it, until Client::remove.
	bool persistent = false;
	// Sandboxed apps that may use the shared-memory object too.
	std::vector<std::string> allowedApps{};
	// What those apps may do: read it (attach read-only), or write it too. Whatever
	// this says, only the shared-memory object's own scope and the host may seal or remove it.
	Access allowedAppsAccess = Access::ReadOnly;
	// The scope to create in: unset means the caller's own; "" is the host's,
	// else an app id. Only host callers may create outside their own scope.
	std::optional<std::string> scope{};
};

// A shared-memory object's properties, as SharedMemory::onChanged hands them.
struct SharedMemoryProperties {
	// Size: the size in bytes; it never changes.
	uint64_t size = 0;
	// Attachments: the connections attached.
	uint32_t attachments = 0;
	// Sealed: whether writes are sealed off.
	bool sealed = false;
	// LockHolder: the unique name of the connection holding the object's lock, ""
	// if none (a sandboxed app of another scope sees "host" or an app id).
	std::string lockHolder{};
	// LockWaiters: the queued lock() calls.
	uint32_t lockWaiters = 0;
};

// Holds a shared-memory object's lock (QSharedMemory::lock()) and gives it back when it goes.
// The service gives it back too if the process dies or closes the shared-memory object. Discarding
// it unlocks at once, hence [[nodiscard]].
class [[nodiscard]] SharedMemoryLock
{
public:
	// A moved-from guard holds nothing; assigning over a guard unlocks first.
	SharedMemoryLock(SharedMemoryLock &&) noexcept;
	SharedMemoryLock &operator=(SharedMemoryLock &&) noexcept;
	~SharedMemoryLock();

	// Whether this guard still holds the lock.
	bool held() const;
	// Gives the lock back now; nothing if it is not held any more.
	[[nodiscard]] Result<void> unlock();

private:
	friend class SharedMemory;
	SharedMemoryLock(std::shared_ptr<detail::Session> session,
			 std::weak_ptr<detail::SharedMemoryProxy> proxy);

	std::shared_ptr<detail::Session> session_;
	std::weak_ptr<detail::SharedMemoryProxy> proxy_;
};

// A named shared-memory object of ipchubd, mapped into this process. The data never
// crosses the bus: the service hands out a memfd that is mapped here. The shared-memory object's
// size never changes, so the mapping never gets SIGBUS. Destroying the object (or
// close()) unmaps it, closes the descriptor and drops the reference: the shared-memory object
// goes once nobody references it, unless it is persistent. Threads: as Client says;
// the mapped bytes themselves are the program's to share between its threads.
class SharedMemory : private detail::ObjectHandle<detail::SharedMemoryProxy>
{
public:
	// Move-only: a moved-from SharedMemory is closed (its calls fail with
	// InvalidArgument); assigning over a live one closes it first. The mapping goes
	// first, then the reference.
	SharedMemory(SharedMemory &&) noexcept;
	SharedMemory &operator=(SharedMemory &&) noexcept;
	~SharedMemory();

	using ObjectHandle::path;
	// How this process mapped the shared-memory object.
	Access access() const { return access_; }
	// The size in bytes; 0 once closed.
	size_t size() const;
	// The mapped bytes, writable. Empty for a ReadOnly mapping (use constData()) and
	// once closed. A ReadWrite mapping stays writable after seal(): the kernel
	// cannot take back a writable mapping that exists.
	Span<std::byte> data();
	// The mapped bytes, for reading; empty once closed.
	Span<const std::byte> constData() const;
	// The shared-memory object's descriptor, owned by this object: for fstat or F_GET_SEALS,
	// never to close. -1 once closed.
	int fd() const;

	// Makes the shared-memory object immutable for good: no write() and no new writable mapping
	// through any descriptor, writable attaches fail with PermissionDenied.
	// PermissionDenied for a sandboxed app that is neither in the shared-memory object's scope
	// nor the host.
	[[nodiscard]] Result<void> seal();
	// The Sealed property.
	[[nodiscard]] Result<bool> sealed() const;
	// Connections attached (see the Attachments property).
	[[nodiscard]] Result<uint32_t> attachments() const;
	// Takes the shared-memory object's lock, waiting up to timeout (kForever: no limit; zero:
	// try once, WouldBlock when another connection holds it; else Timeout). Returns at most 150
	// ms after the timeout whatever ipchubd does; a grant made after that is given back. A wait
	// goes through WaitLock and its WaitEnded signal, as Semaphore::acquire's does.
	[[nodiscard]] Result<SharedMemoryLock> lock(Timeout timeout = kForever);
	// As lock, without blocking: callback runs once with the outcome, from
	// Client::process(), unless the returned handle cancels the wait first.
	PendingWait lockAsync(Timeout timeout,
			      std::function<void(Result<SharedMemoryLock>)> callback);
	// Calls callback from Client::process() with the object's properties: first as
	// they are when onChanged returns (read with GetAll, which also tells ipchubd to
	// send this connection the object's PropertiesChanged), then after each change
	// ipchubd announces (at most every 10 ms per object, within 20 ms of the change).
	// Changes that come between two process() calls make one call with the latest
	// values. Ends with the returned handle; across a departure or restart of ipchubd,
	// see Client::onDisconnected. Errors: InvalidArgument once closed; as sealed() for
	// the read (NotFound, PermissionDenied, Timeout, Failed); Failed when the bus
	// refuses the subscription. The callback may call the Client and cancel any
	// subscription, its own among them.
	[[nodiscard]] Result<Subscription>
	onChanged(std::function<void(const SharedMemoryProperties &)> callback);
	// Unmaps, closes the descriptor and drops the reference; the object is unusable
	// afterwards. The lock, if this connection holds it, is given back.
	Result<void> close();

private:
	friend class Client;
	SharedMemory(std::shared_ptr<detail::Session> session, std::string path, Access access);

	std::unique_ptr<detail::Mapping> mapping_;
	Access access_;
};

} // namespace ipchub
