// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ipchub/lock.hpp>
#include <ipchub/object_status.hpp>
#include <ipchub/result.hpp>
#include <ipchub/semaphore.hpp>
#include <ipchub/shared_memory.hpp>
#include <ipchub/subscription.hpp>
#include <ipchub/watch.hpp>

namespace ipchub {

namespace detail {
class Session;
}

// A connection to ipchubd (io.github.ipchub1). Objects it creates or opens share the
// connection and keep it open; everything they hold is given back by the service if
// the process dies.
//
// Threads: a Client and the objects it handed out may be used from several threads at
// once. Every call takes the connection's lock for what it sends and reads; a call
// that waits (for a grant, a reply) sleeps without it, while one waiting thread reads
// the connection for all of them, so waits on one Client do not hold each other up.
// Like any C++ object, one Semaphore, Lock, SharedMemory, guard or Watch must not be
// moved, closed or destroyed while another thread uses it. A Client is move-only:
// every object it hands out keeps the connection open, so none of them needs a copy.
class Client
{
public:
	Client(Client &&) noexcept = default;
	Client &operator=(Client &&) noexcept = default;
	Client(const Client &) = delete;
	Client &operator=(const Client &) = delete;

	// The session bus ($DBUS_SESSION_BUS_ADDRESS). Failed when it cannot connect.
	[[nodiscard]] static Result<Client> connect();
	// A bus at address, such as "unix:path=/run/user/1000/bus".
	[[nodiscard]] static Result<Client> connect(const std::string &address);

	// Every call below waits for ipchubd at most the call timeout (setCallTimeout) and
	// returns the service's errors as they are (AlreadyExists, NotFound, InvalidKey,
	// InvalidArgument, LimitExceeded, PermissionDenied: see the D-Bus API), Timeout when
	// ipchubd does not answer in time, Failed when the bus fails or ipchubd is not on
	// it (at once if this Client never reached it; else after waiting for a restart).

	// Creates the semaphore key with initial free units (CreateSemaphore).
	[[nodiscard]] Result<Semaphore> createSemaphore(std::string_view key, uint32_t initial,
							const SemaphoreOptions &options = {});
	// Opens the semaphore key, which must exist (NotFound).
	[[nodiscard]] Result<Semaphore> openSemaphore(std::string_view key,
						      const OpenOptions &options = {});
	// Creates a shared-memory object of size bytes, mapped read-write.
	[[nodiscard]] Result<SharedMemory>
	createSharedMemory(std::string_view key, uint64_t size,
			   const SharedMemoryOptions &options = {});
	// Opens an existing shared-memory object and maps it as access says (PermissionDenied for a
	// writable mapping of a sealed shared-memory object).
	[[nodiscard]] Result<SharedMemory> openSharedMemory(std::string_view key, Access access,
							    const OpenOptions &options = {});
	// Creates the lock key (CreateLock).
	[[nodiscard]] Result<Lock> createLock(std::string_view key,
					      const LockOptions &options = {});
	// Opens the lock key, which must exist (NotFound).
	[[nodiscard]] Result<Lock> openLock(std::string_view key, const OpenOptions &options = {});
	// Ends the object at path now, persistent or not; its holders lose what they hold
	// and its waits fail with Cancelled.
	[[nodiscard]] Result<void> remove(const std::string &path);

	// Every object the caller may see, with its properties (GetManagedObjects).
	[[nodiscard]] Result<std::vector<ObjectStatus>> listObjects();
	// The properties of the object of kind named key (in options.scope, else the
	// caller's own scope), read with GetAll on its path: nothing this connection holds
	// on the object changes, and no reference is taken. NotFound when it does not
	// exist; the service's scope rules apply (PermissionDenied for an object a
	// sandboxed caller may not use).
	[[nodiscard]] Result<ObjectStatus> status(ObjectKind kind, std::string_view key,
						  const OpenOptions &options = {});
	// Subscribes to every object change; handler is called from Watch::run.
	[[nodiscard]] Result<Watch> watch(Watch::Handler handler);

	// Event loops, the sd-bus way: poll fd() for POLLIN (it never changes for the
	// Client's life; it is an epoll fd of the connection, a timer and the completions)
	// and call process() when it is readable, or when nextTimeout() (if any) has
	// passed. process() never blocks: it handles what has arrived, cancels or gives
	// up waits at their timeouts' margins, and runs the callbacks of acquireAsync,
	// lockAsync, onChanged and onDisconnected, in the calling thread, without the
	// Client's lock (so they may call the Client). -1 if the descriptors cannot be made.
	int fd() const;
	// Failed when the connection failed (ipchubd's own departure is a callback's error).
	[[nodiscard]] Result<void> process();
	// How soon process() is due at the latest; nullopt for no timer.
	std::optional<std::chrono::microseconds> nextTimeout() const;

	// Calls callback from process() when ipchubd leaves the bus (its name loses its
	// owner: it stopped, crashed or was killed), each time it does, and once when this
	// connection itself fails (the bus closed it, dbus-daemon went). The Error is
	// Failed and says which. Only what happens after onDisconnected returns is told;
	// a blocking call that notices it first still leaves the callback to process().
	// Ends with the returned handle. Failed when the bus refuses the subscription.
	//
	// What is left afterwards:
	// - ipchubd left: what this connection held on non-persistent objects is gone (a
	//   lock is no longer held: another process may hold it now); the objects' calls
	//   wait for a restart (see setCallTimeout) and then fail with NotFound, and so
	//   does a guard's release, harmlessly. If ipchubd comes back with the persistent
	//   objects (a restart under systemd, docs/persistence.md), those objects work on
	//   and this connection still holds what it held on them (its units, its grants
	//   with their tokens, the shared-memory lock): their guards stay good.
	// - the connection failed: ipchubd gave back everything it held; every call fails
	//   with Failed and process() too; guards release nothing. Mapped shared-memory bytes
	//   stay readable in this process. Connect a new Client and open the objects again.
	// - onChanged subscriptions stay. When ipchubd is back, each reads its object
	//   again (telling the new ipchubd of this connection's interest) and its callback
	//   runs with the state the object came back with; one whose object did not come
	//   back is not called again. None runs after the connection failed.
	[[nodiscard]] Result<Subscription>
	onDisconnected(std::function<void(const Error &)> callback);

	// This connection's unique bus name.
	std::string uniqueName() const;
	// How long a call that takes no timeout of its own (create, open, release, a
	// property...) waits for ipchubd before it fails with Timeout; 25 s by default.
	void setCallTimeout(std::chrono::microseconds timeout);

private:
	explicit Client(std::shared_ptr<detail::Session> session);

	std::shared_ptr<detail::Session> session_;
};

} // namespace ipchub
