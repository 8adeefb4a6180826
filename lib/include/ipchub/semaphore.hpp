#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ipchub/result.hpp>

namespace ipchub {

namespace detail {
struct Session;
class SemaphoreProxy;
}

// Waits without limit when passed as a timeout.
inline constexpr std::chrono::microseconds kForever = std::chrono::microseconds::max();

struct SemaphoreOptions {
	// Open the semaphore if it exists already, as QSystemSemaphore::Open does.
	bool openExisting = false;
	// The largest value; 0 means the service's default (UINT32_MAX).
	uint32_t max = 0;
	// Keep the semaphore when nobody references it, until Client::remove.
	bool persistent = false;
	// Units this connection acquired come back when it closes or leaves the bus.
	bool returnOnExit = true;
	// Sandboxed apps that may use the semaphore too.
	std::vector<std::string> allowedApps{};
	// The scope to create in: unset means the caller's own; "" is the host's,
	// else an app id. Only host callers may create outside their own scope.
	std::optional<std::string> scope{};
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

// A reference to a named semaphore of ipchubd. Closing it (or destroying it) gives
// back the units this connection holds. Threads: as Client says; several threads
// may wait on one Semaphore at once.
class Semaphore
{
public:
	Semaphore(Semaphore &&) noexcept;
	Semaphore &operator=(Semaphore &&) noexcept;
	~Semaphore();

	const std::string &path() const { return path_; }

	// Takes n units, waiting up to timeout (kForever: no limit; zero: try once,
	// WouldBlock when they are not free). A wait goes through Wait and its WaitEnded
	// signal, so no call stays pending on the bus; meanwhile this thread reads the
	// Client's connection. It fails with Failed if ipchubd leaves the bus.
	Result<void> acquire(uint32_t n = 1, std::chrono::microseconds timeout = kForever);
	Result<bool> tryAcquire(uint32_t n = 1);
	Result<void> release(uint32_t n = 1);
	Result<uint32_t> value() const;
	Result<uint32_t> waiters() const;
	Result<std::vector<SemaphoreHolder>> holders() const;
	// Drops this connection's reference; the object is unusable afterwards.
	Result<void> close();

private:
	friend class Client;
	Semaphore(std::shared_ptr<detail::Session> session, std::string path);

	std::shared_ptr<detail::Session> session_;
	std::string path_;
	std::unique_ptr<detail::SemaphoreProxy> proxy_;
};

} // namespace ipchub
