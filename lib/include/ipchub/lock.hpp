#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <ipchub/result.hpp>
#include <ipchub/semaphore.hpp>

namespace ipchub {

namespace detail {
struct Session;
class LockProxy;
} // namespace detail

enum class LockMode {
	// Many holders at once (readers).
	Shared,
	// One holder alone (a writer).
	Exclusive,
};

// Who holds a lock now, as its Mode property says.
enum class LockState { Unlocked, Shared, Exclusive };

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

// A grant from Lock::acquire or tryAcquire, released when the guard goes. Guards of
// one connection are released newest grant first; its shared grants are alike, so
// which one a guard ends makes no difference to anyone.
class LockGuard
{
public:
	LockGuard(LockGuard &&other) noexcept;
	LockGuard &operator=(LockGuard &&other) noexcept;
	~LockGuard();

	// The fencing token: larger than every token the lock handed out before. Pass it
	// to whatever the lock protects, so it can refuse a holder that lost the lock.
	uint64_t token() const { return token_; }
	// Releases now; the guard holds nothing afterwards.
	Result<void> release();

private:
	friend class Lock;
	LockGuard(std::shared_ptr<detail::Session> session,
		  std::shared_ptr<detail::LockProxy> proxy, uint64_t token);

	std::shared_ptr<detail::Session> session_;
	std::shared_ptr<detail::LockProxy> proxy_;
	uint64_t token_;
};

// A grant from Lock::acquireHandle: the lock is held until every copy of fd() is
// closed (in this process and any it was passed to) and the service has seen the
// hang-up, or until this connection leaves the bus. The fd is close-on-exec.
class LockHandle
{
public:
	LockHandle(LockHandle &&other) noexcept;
	LockHandle &operator=(LockHandle &&other) noexcept;
	~LockHandle();

	// -1 once closed or released.
	int fd() const { return fd_; }
	uint64_t token() const { return token_; }
	// Closes this copy of the handle; the service releases the lock once every copy
	// is closed, without a round trip of this process.
	void close();
	// Hands the fd over to the caller, who closes it.
	int releaseFd();

private:
	friend class Lock;
	LockHandle(int fd, uint64_t token);

	int fd_;
	uint64_t token_;
};

// A reference to a named readers-writer lock of ipchubd. Closing it (or destroying
// it) ends every grant this connection holds on it and its waits. Threads: as
// Client says; several threads may wait on one Lock at once.
class Lock
{
public:
	Lock(Lock &&) noexcept;
	Lock &operator=(Lock &&) noexcept;
	~Lock();

	const std::string &path() const { return path_; }

	// Takes the lock in mode, waiting up to timeout behind earlier waiters (kForever:
	// no limit; zero: try once, WouldBlock when it cannot be granted now). A wait goes
	// through Wait and its WaitEnded signal, as Semaphore::acquire's does.
	Result<LockGuard> acquire(LockMode mode = LockMode::Exclusive,
				  std::chrono::microseconds timeout = kForever);
	// The lock if it can be granted now and nobody waits; nullopt otherwise.
	Result<std::optional<LockGuard>> tryAcquire(LockMode mode = LockMode::Exclusive);
	// As acquire, held by an fd instead of a guard.
	Result<LockHandle> acquireHandle(LockMode mode = LockMode::Exclusive,
					 std::chrono::microseconds timeout = kForever);

	Result<LockState> mode() const;
	Result<std::vector<LockHolder>> holders() const;
	Result<uint32_t> waiters() const;
	// The token of the latest grant; 0 before the first.
	Result<uint64_t> token() const;
	// Drops this connection's reference; the object is unusable afterwards.
	Result<void> close();

private:
	friend class Client;
	Lock(std::shared_ptr<detail::Session> session, std::string path);

	std::shared_ptr<detail::Session> session_;
	std::string path_;
	std::shared_ptr<detail::LockProxy> proxy_;
};

} // namespace ipchub
