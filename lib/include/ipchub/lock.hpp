// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <functional>

#include <ipchub/lock_mode.hpp>
#include <ipchub/object_handle.hpp>
#include <ipchub/pending_wait.hpp>
#include <ipchub/result.hpp>
#include <ipchub/subscription.hpp>
#include <ipchub/timeout.hpp>

namespace ipchub {

namespace detail {
class Session;
class LockProxy;
class FastLock;
struct FastPage;
struct FastGrant;
} // namespace detail

// Who holds a lock now, as its Mode property says.
enum class LockState {
	Unlocked,
	Shared,
	Exclusive
};

struct LockOptions {
	// Open the lock if it exists already.
	bool openExisting = false;
	// Keep the lock when nobody references it, until Client::remove.
	bool persistent = false;
	// Sandboxed apps that may use the lock too. (The {} let designated initializers
	// such as {.openExisting = true} leave them out without a -Wextra warning.)
	std::vector<std::string> allowedApps{};
	// The scope to create in: unset means the caller's own; "" is the host's,
	// else an app id. Only host callers may create outside their own scope.
	std::optional<std::string> scope{};
	// A fast lock: its state is a word of a page shared with ipchubd, and acquire,
	// tryAcquire and LockGuard work on it with atomic instructions and futexes, from
	// any thread (two threads of the process exclude each other), without a bus
	// message while the lock is free; ipchubd still ends the grants of a connection
	// that goes, and fencing tokens keep growing. Opening a lock (or openExisting on
	// an existing one) uses the page whenever the lock is fast, whatever this says.
	// Waiters on the page are not served in order (no FIFO, no priority inheritance).
	bool fast = false;
};

// One grant of a lock, as QLockFile::getLockInfo tells of its one holder.
struct LockHolder {
	std::string uniqueName;
	LockMode mode;
	pid_t pid;
	// "" for a process outside a sandbox.
	std::string appId;
	uint64_t token;
	std::chrono::system_clock::time_point acquiredAt;
};

// A lock's changing properties, as Lock::onChanged hands them.
struct LockProperties {
	// Mode: unlocked, shared or exclusive.
	LockState mode = LockState::Unlocked;
	// Holders: every grant, with who holds it.
	std::vector<LockHolder> holders{};
	// Waiters: the queued waits of every connection.
	uint32_t waiters = 0;
	// Token: the token of the latest grant; 0 before the first.
	uint64_t token = 0;
};

// A grant from Lock::acquire or tryAcquire, released when the guard goes (discarding
// it releases the lock at once, hence [[nodiscard]]). Guards of one connection are
// released newest grant first; its shared grants are alike, so which one a guard ends
// makes no difference to anyone.
// LockGuard, LockHandle and SemaphoreGuard (semaphore.hpp) parallel each other on
// purpose: each gives back its own kind of grant.
class [[nodiscard]] LockGuard
{
public:
	// A moved-from guard holds nothing; assigning over a guard releases its grant.
	LockGuard(LockGuard &&other) noexcept;
	LockGuard &operator=(LockGuard &&other) noexcept;
	~LockGuard();

	// The fencing token: larger than every token the lock handed out before. Pass it
	// to whatever the lock protects, so it can refuse a holder that lost the lock.
	uint64_t token() const { return token_; }
	// Releases now; the guard holds nothing afterwards, even when the release failed
	// (NotHeld: the lock was closed or ipchubd restarted without the grant; on a fast
	// lock also when the connection was lost, or ipchubd restarted, since the grant).
	[[nodiscard]] Result<void> release();
	// On a fast lock: whether the previous holder died holding it (its connection left
	// the bus and ipchubd took the lock back), as EOWNERDEAD tells of a robust mutex:
	// what the lock protects may be half-written; check or repair it. Always false on
	// the bus path, whose grants do not say.
	bool previousOwnerDied() const { return ownerDied_; }

private:
	friend class Lock;
	LockGuard(std::shared_ptr<detail::Session> session,
		  std::shared_ptr<detail::LockProxy> proxy, uint64_t token);
	LockGuard(std::shared_ptr<detail::FastLock> fast, detail::FastPage *page,
		  uint32_t fastToken, LockMode mode, uint64_t token, bool ownerDied);

	std::shared_ptr<detail::Session> session_;
	std::shared_ptr<detail::LockProxy> proxy_;
	uint64_t token_;
	// A fast lock's grant: on which page, under which word token, in which mode.
	std::shared_ptr<detail::FastLock> fast_;
	detail::FastPage *page_ = nullptr;
	uint32_t fastToken_ = 0;
	LockMode mode_ = LockMode::Exclusive;
	bool ownerDied_ = false;
};

// Parallels LockGuard on purpose (see there).
// A grant from Lock::acquireHandle: the lock is held until every copy of fd() is
// closed (in this process and any it was passed to) and the service has seen the
// hang-up, or until this connection leaves the bus. The fd is close-on-exec.
class [[nodiscard]] LockHandle
{
public:
	// A moved-from handle holds nothing; assigning over a handle closes its fd.
	LockHandle(LockHandle &&other) noexcept;
	LockHandle &operator=(LockHandle &&other) noexcept;
	~LockHandle();

	// -1 once closed or released.
	int fd() const { return fd_; }
	// The grant's fencing token, as LockGuard::token.
	uint64_t token() const { return token_; }
	// Closes this copy of the handle; the service releases the lock once every copy
	// is closed, without a round trip of this process.
	void close();
	// Hands the fd over to the caller, who closes it (or passes it on); -1 if closed.
	[[nodiscard]] int releaseFd();

private:
	friend class Lock;
	LockHandle(int fd, uint64_t token);

	int fd_;
	uint64_t token_;
};

// A reference to a named readers-writer lock of ipchubd. Closing it (or destroying
// it) ends every grant this connection holds on it and its waits. Threads: as
// Client says; several threads may wait on one Lock at once. Errors as Semaphore's.
class Lock : private detail::ObjectHandle<detail::LockProxy>
{
public:
	// Move-only: a moved-from Lock is closed (its calls fail with InvalidArgument);
	// assigning over a live one closes it first.
	Lock(Lock &&) noexcept = default;
	Lock &operator=(Lock &&) noexcept = default;
	~Lock() = default;

	using ObjectHandle::path;

	// Takes the lock in mode, waiting up to timeout behind earlier waiters (kForever:
	// no limit; zero: try once, WouldBlock when it cannot be granted now; else
	// Timeout). Returns at most 150 ms after the timeout whatever ipchubd does; a grant
	// made after that is given back. A wait goes through Wait and its WaitEnded
	// signal, as Semaphore::acquire's does; Failed if ipchubd leaves meanwhile.
	//
	// On a fast lock the grant is the calling thread's, on the page, without the bus;
	// InvalidArgument when this thread holds the lock already (it would wait for
	// itself), LimitExceeded when every reader slot is taken. When ipchubd restarts
	// (or the connection is lost), grants on the page are lost: once this Client has
	// read its connection since (any bus call, Client::process(), or a wait on the
	// page, which looks every 50 ms), release says NotHeld and the next call attaches
	// the new page. See LockGuard::previousOwnerDied.
	[[nodiscard]] Result<LockGuard> acquire(LockMode mode = LockMode::Exclusive,
						Timeout timeout = kForever);
	// As acquire, without blocking: callback runs once with the outcome, from
	// Client::process(), unless the returned handle cancels the wait first. On a fast
	// lock a free lock is taken on the page at once; a held one is waited for through
	// the bus (ipchubd waits on the page for this connection), and its grant is
	// released through the bus too.
	PendingWait acquireAsync(LockMode mode, Timeout timeout,
				 std::function<void(Result<LockGuard>)> callback);
	// The lock if it can be granted now and nobody waits; nullopt otherwise.
	[[nodiscard]] Result<std::optional<LockGuard>>
	tryAcquire(LockMode mode = LockMode::Exclusive);
	// As acquire, held by an fd instead of a guard (a pending AcquireHandle call: a
	// handle that comes after the timeout is closed, which releases the grant).
	[[nodiscard]] Result<LockHandle> acquireHandle(LockMode mode = LockMode::Exclusive,
						       Timeout timeout = kForever);

	// The Mode property: unlocked, shared or exclusive now.
	[[nodiscard]] Result<LockState> mode() const;
	// The Holders property: every grant, with who holds it.
	[[nodiscard]] Result<std::vector<LockHolder>> holders() const;
	// The Waiters property: the queued waits of every connection.
	[[nodiscard]] Result<uint32_t> waiters() const;
	// The token of the latest grant; 0 before the first.
	[[nodiscard]] Result<uint64_t> token() const;
	// Calls callback from Client::process() with the lock's properties: first as
	// they are when onChanged returns (read with GetAll, which also tells ipchubd to
	// send this connection the object's PropertiesChanged), then after each change
	// ipchubd announces (at most every 10 ms per object, within 20 ms of the change).
	// Changes that come between two process() calls make one call with the latest
	// values. Ends with the returned handle; across a departure or restart of ipchubd,
	// see Client::onDisconnected. Errors: InvalidArgument once closed; as mode() for
	// the read (NotFound, PermissionDenied, Timeout, Failed); Failed when the bus
	// refuses the subscription. The callback may call the Client and cancel any
	// subscription, its own among them.
	[[nodiscard]] Result<Subscription>
	onChanged(std::function<void(const LockProperties &)> callback);
	// Drops this connection's reference, ending its grants and waits on the lock; the
	// object is unusable afterwards. Nothing when closed already.
	Result<void> close();

private:
	friend class Client;
	using ObjectHandle::ObjectHandle;
	static LockGuard fastGuard(const std::shared_ptr<detail::FastLock> &fast,
				   const detail::FastGrant &grant);
};

} // namespace ipchub
