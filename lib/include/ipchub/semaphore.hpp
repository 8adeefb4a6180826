// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <functional>

#include <ipchub/object_handle.hpp>
#include <ipchub/pending_wait.hpp>
#include <ipchub/result.hpp>
#include <ipchub/subscription.hpp>
#include <ipchub/timeout.hpp>

namespace ipchub {

namespace detail {
class Session;
class SemaphoreProxy;
class FastSemaphore;
struct FastPage;
} // namespace detail

struct SemaphoreOptions {
	// Open the semaphore if it exists already, as QSystemSemaphore::Open does.
	bool openExisting = false;
	// The largest value; 0 means the service's default (UINT32_MAX).
	uint32_t max = 0;
	// Keep the semaphore when nobody references it, until Client::remove.
	bool persistent = false;
	// Units this connection acquired come back when it closes or leaves the bus (see
	// Semaphore::release for what that means to a hand-off). false makes a plain
	// counter, like a POSIX semaphore: acquired units are consumed.
	bool returnOnExit = true;
	// Sandboxed apps that may use the semaphore too (through the bus: a fast page goes
	// only to callers in the semaphore's own scope).
	std::vector<std::string> allowedApps{};
	// The scope to create in: unset means the caller's own; "" is the host's,
	// else an app id. Only host callers may create outside their own scope.
	std::optional<std::string> scope{};
	// A fast semaphore: its units are words of a page shared with ipchubd, and
	// acquire, tryAcquire, release and SemaphoreGuard work on them with atomic
	// instructions and futexes, from any thread, without a bus message while the units
	// are free (tens of nanoseconds instead of a bus round trip); ipchubd still gives
	// back the units of a connection that goes. max must then be at most the Manager's
	// fast_units_max limit (its default when max is 0). Opening a semaphore (or
	// openExisting on an existing one) uses the page whenever the semaphore is fast,
	// whatever this says. Waiters on the page are not served in order.
	bool fast = false;
};

struct OpenOptions {
	// The scope to look in: unset means the caller's own; "" is the host's (how a
	// sandboxed app opens a host semaphore that lists it in allowed_apps), else an
	// app id.
	std::optional<std::string> scope{};
};

struct SemaphoreHolder {
	std::string uniqueName;
	uint32_t units;
};

// A semaphore's changing properties, as Semaphore::onChanged hands them.
struct SemaphoreProperties {
	// Value: the free units.
	uint32_t value = 0;
	// Waiters: the queued waits of every connection.
	uint32_t waiters = 0;
	// Holders: every connection that holds units, and how many.
	std::vector<SemaphoreHolder> holders{};
};

class Semaphore;

// n units of a semaphore, from Semaphore::acquireGuard: released (Release(n)) when the
// guard goes. Discarding it releases them at once, hence [[nodiscard]].
// Parallels LockGuard and LockHandle (lock.hpp) on purpose: each gives back its own
// kind of grant.
class [[nodiscard]] SemaphoreGuard
{
public:
	// A moved-from guard holds nothing; assigning over a guard releases its units.
	SemaphoreGuard(SemaphoreGuard &&other) noexcept;
	SemaphoreGuard &operator=(SemaphoreGuard &&other) noexcept;
	~SemaphoreGuard();

	// The units held; 0 once released or dismissed.
	uint32_t units() const { return units_; }
	// On a fast semaphore: whether a unit of this guard came from a holder that died
	// holding it (ipchubd gave it back), as EOWNERDEAD tells of a robust mutex: what
	// the unit guarded may be half-done. Always false on the bus path, whose grants
	// do not say.
	bool previousOwnerDied() const { return ownerDied_; }
	// Releases the units now (see Semaphore::release); the guard holds nothing
	// afterwards, even when the release failed.
	[[nodiscard]] Result<void> release();
	// Keeps the units without releasing them, for whoever releases them later (another
	// process, in a hand-off); returns how many there were.
	uint32_t dismiss();

private:
	friend class Semaphore;
	SemaphoreGuard(std::shared_ptr<detail::Session> session,
		       std::shared_ptr<detail::SemaphoreProxy> proxy, uint32_t units);
	SemaphoreGuard(std::shared_ptr<detail::FastSemaphore> fast, detail::FastPage *page,
		       uint32_t token, uint32_t first, std::vector<uint32_t> rest, bool ownerDied);

	std::shared_ptr<detail::Session> session_;
	std::shared_ptr<detail::SemaphoreProxy> proxy_;
	uint32_t units_;
	// A fast semaphore's units: on which page, under which token, which words.
	std::shared_ptr<detail::FastSemaphore> fast_;
	detail::FastPage *page_ = nullptr;
	uint32_t token_ = 0;
	uint32_t first_ = 0;
	std::vector<uint32_t> rest_;
	bool ownerDied_ = false;
};

// A reference to a named semaphore of ipchubd. Closing it (or destroying it) gives
// back the units this connection holds (unless it was made with returnOnExit =
// false). Threads: as Client says; several threads may wait on one Semaphore at once.
// Every call fails with InvalidArgument once the object is closed; the errors of
// ipchubd (NotFound for an object that is gone, PermissionDenied...) come as they are,
// and Failed when the bus or ipchubd fails.
class Semaphore : private detail::ObjectHandle<detail::SemaphoreProxy>
{
public:
	// Move-only: a moved-from Semaphore is closed (its calls fail with
	// InvalidArgument); assigning over a live one closes it first.
	Semaphore(Semaphore &&) noexcept = default;
	Semaphore &operator=(Semaphore &&) noexcept = default;
	~Semaphore() = default;

	using ObjectHandle::path;

	// Takes n units, waiting up to timeout behind earlier waiters (kForever: no limit;
	// zero: try once, WouldBlock when they are not free; else Timeout). The call
	// returns at most 150 ms after the timeout whatever ipchubd does; units it grants
	// after that are given back. A wait goes through Wait and its WaitEnded signal,
	// so no call stays pending on the bus; it fails with Failed if ipchubd leaves the
	// bus meanwhile. InvalidArgument for n = 0 or n above max.
	//
	// On a fast semaphore the units are taken on the page: n at once or none (a wait
	// for n sleeps until n are free, and a timeout leaves nothing held), by the
	// calling thread (two threads exclude each other as two processes do), without
	// the bus. The holds are this connection's, as on the bus path: ipchubd gives
	// them back when it goes. When ipchubd restarts (or the connection is lost), what
	// was held on the page is lost: once this Client has read its connection since
	// (any bus call, Client::process(), or a wait on the page, which looks every
	// 50 ms), a guard's release says NotHeld and the next call attaches the new page.
	[[nodiscard]] Result<void> acquire(uint32_t n = 1, Timeout timeout = kForever);
	// As acquire, without blocking: callback runs once with the outcome, from
	// Client::process() (see Client::fd), unless the returned handle cancels the wait
	// first (destroying it does). The same bounds as acquire's. On a fast semaphore
	// free units are taken on the page at once; else the wait goes through the bus
	// (ipchubd waits on the page for this connection), and release() gives such
	// units back through the bus.
	PendingWait acquireAsync(uint32_t n, Timeout timeout,
				 std::function<void(Result<void>)> callback);
	// As acquire, the units held by a guard that releases them.
	[[nodiscard]] Result<SemaphoreGuard> acquireGuard(uint32_t n = 1,
							  Timeout timeout = kForever);
	// Takes n units if they are free now and nobody waits before: true, else false.
	// (On a fast semaphore: if n are free now; waiters have no order there.)
	[[nodiscard]] Result<bool> tryAcquire(uint32_t n = 1);
	// Gives n units back, or posts them: releasing more than this connection holds
	// adds the rest to the value (the producer/consumer use); LimitExceeded past max.
	//
	// The hand-off rule: with returnOnExit (the default), units a connection acquired
	// are its own and come back when it closes or leaves the bus, and units released
	// by a connection that does not hold them are posts that stay. So when one process
	// acquires (the consumer) and another releases (the producer), the consumer's units
	// come back at its exit on top of the producer's posts: after 10 hand-offs a value
	// of 1 is 11. Make a semaphore passed between processes a plain counter
	// (returnOnExit = false, ipchubctl sem create --no-return-on-exit), or release
	// what you acquire in the same process.
	//
	// On a fast semaphore: the calling thread's units first, then any thread's of this
	// connection (a thread's SemaphoreGuard then finds its units gone: NotHeld), then
	// units held through acquireAsync's bus wait, then posts.
	[[nodiscard]] Result<void> release(uint32_t n = 1);
	// The Value property: the free units now.
	[[nodiscard]] Result<uint32_t> value() const;
	// The Waiters property: the queued waits of every connection.
	[[nodiscard]] Result<uint32_t> waiters() const;
	// The Holders property: every connection that holds units, and how many.
	[[nodiscard]] Result<std::vector<SemaphoreHolder>> holders() const;
	// Calls callback from Client::process() with the semaphore's properties: first as
	// they are when onChanged returns (read with GetAll, which also tells ipchubd to
	// send this connection the object's PropertiesChanged), then after each change
	// ipchubd announces (at most every 10 ms per object, within 20 ms of the change).
	// Changes that come between two process() calls make one call with the latest
	// values. Ends with the returned handle; across a departure or restart of ipchubd,
	// see Client::onDisconnected. Errors: InvalidArgument once closed; as value() for
	// the read (NotFound, PermissionDenied, Timeout, Failed); Failed when the bus
	// refuses the subscription. The callback may call the Client and cancel any
	// subscription, its own among them.
	[[nodiscard]] Result<Subscription>
	onChanged(std::function<void(const SemaphoreProperties &)> callback);
	// Drops this connection's reference, giving back what it holds (as above); the
	// object is unusable afterwards. Nothing when closed already.
	Result<void> close();

private:
	friend class Client;
	using ObjectHandle::ObjectHandle;
};

} // namespace ipchub
