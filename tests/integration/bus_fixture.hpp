// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The integration tests' world: a private dbus-daemon (the distribution's session
// configuration, so its limits are the real ones) and the real ipchubd binary on it,
// shared by the tests of one binary (see IpchubTest).

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <ipchub/ipchub.hpp>

namespace ipchub::test {

using namespace std::chrono_literals;

// A dbus-daemon of the test's own, killed with the test process.
class PrivateBus
{
public:
	PrivateBus();
	~PrivateBus();
	PrivateBus(const PrivateBus &) = delete;
	PrivateBus &operator=(const PrivateBus &) = delete;

	const std::string &address() const { return address_; }

private:
	pid_t pid_ = -1;
	std::string address_;
};

// A child process, killed (SIGKILL) and reaped when the handle goes unless waited.
class Child
{
public:
	Child() = default;
	explicit Child(pid_t pid) : pid_(pid) {}
	Child(Child &&other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
	Child &operator=(Child &&other) noexcept;
	~Child();

	pid_t pid() const { return pid_; }
	// Whether it still runs (reaping it if it ended).
	bool running() { return pid_ > 0 && wait(std::chrono::milliseconds(0)) == -1; }
	void kill(int signal = SIGKILL);
	// The exit status (or 128 + signal), or -1 if it did not end within timeout.
	int wait(std::chrono::milliseconds timeout = 10s);

private:
	pid_t pid_ = -1;
};

// Runs body in a forked child with DBUS_SESSION_BUS_ADDRESS set; the child exits with
// body's return value.
Child forkChild(const std::function<int()> &body);
// Runs argv (searched in PATH) with DBUS_SESSION_BUS_ADDRESS set.
Child spawn(const std::vector<std::string> &argv);

struct CommandResult {
	int status = -1;
	std::string out;
	std::string err;
};
// Runs argv to completion (at most timeout), with DBUS_SESSION_BUS_ADDRESS set.
CommandResult run(const std::vector<std::string> &argv, std::chrono::milliseconds timeout = 20s);

// Polls condition until it holds or timeout passes; returns whether it held.
bool waitFor(const std::function<bool()> &condition, std::chrono::milliseconds timeout = 10s);

// A test on the bus of its binary, with an ipchubd as a fresh one is: the tests of a
// binary share one bus and hand one ipchubd on from test to test, once it holds no
// object (the persistent ones a test left are removed). A test that stops or starts
// ipchubd itself (other options, a restart, a kill) or fails ends its ipchubd and the
// bus: the next test gets new ones.
class IpchubTest : public ::testing::Test
{
protected:
	void SetUp() override;
	void TearDown() override;

	const std::string &address() const { return bus_->address(); }
	// Starts ipchubd with extra arguments, through wrapper (a command that runs the
	// rest of its argv) if any, and waits until it owns its name. The test's own.
	void startDaemon(const std::vector<std::string> &args = {},
			 const std::vector<std::string> &wrapper = {});
	// signal (SIGTERM by default) to ipchubd; its exit status. No test gets it after.
	int stopDaemon(int signal = SIGTERM);
	pid_t daemonPid() const { return daemon_.pid(); }
	// A new connection of the test process.
	Client connect();
	// Whether io.github.ipchub1 has an owner on the bus.
	bool nameOwned();

private:
	void launchDaemon(const std::vector<std::string> &args,
			  const std::vector<std::string> &wrapper);
	// Whether the ipchubd handed on holds no object, once the leftovers are removed.
	bool settled();

	// The binary's bus.
	PrivateBus *bus_ = nullptr;
	Child daemon_;
	// Whether the test stopped or started ipchubd itself: its ipchubd is not handed on.
	bool ownDaemon_ = false;
};

// A connection of the test process driven by hand, for what the library cannot do
// from one thread: calls whose replies come later, several waits on one connection,
// and signals. Replies and signals are dispatched only by pump() (and waitFor).
class RawConnection
{
public:
	explicit RawConnection(const std::string &address);

	sdbus::IConnection &connection() { return *connection_; }
	std::string uniqueName() const { return connection_->getUniqueName(); }

	// The outcome of an asynchronous call, filled in when its reply is dispatched.
	struct Reply {
		bool done = false;
		// The D-Bus error name; empty on success.
		std::string error;
		std::string message;
		std::chrono::steady_clock::time_point sentAt;
		std::chrono::steady_clock::time_point repliedAt;
	};
	// Sends Acquire(n, timeoutUsec) to the semaphore at path, without waiting.
	std::shared_ptr<Reply> acquireAsync(const std::string &path, uint32_t n,
					    uint64_t timeoutUsec);

	// Synchronous calls on this connection (errors thrown as sdbus::Error).
	std::string createSemaphore(const std::string &key, uint32_t initial,
				    const std::map<std::string, sdbus::Variant> &options = {});
	void callSemaphore(const std::string &path, const std::string &method);
	sdbus::Variant property(const std::string &path, const std::string &interface,
				const std::string &name);
	uint32_t waiters(const std::string &path);
	uint32_t value(const std::string &path);

	// Calls GetManagedObjects: ipchubd sends the signals about an object only to the
	// connections that did, and only where they may see the object.
	void introduce();

	// Calls handler with every message matching rule, from pump().
	void addMatch(const std::string &rule, std::function<void(sdbus::Message &)> handler);

	// Dispatches what has arrived.
	void pump();
	// Polls condition, pumping meanwhile, until it holds or timeout passes.
	bool waitFor(const std::function<bool()> &condition,
		     std::chrono::milliseconds timeout = 10s);

private:
	std::unique_ptr<sdbus::IConnection> connection_;
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies_;
	std::vector<sdbus::Slot> matches_;
};

// The D-Bus error name of the contract: "io.github.ipchub1.Error." + name.
std::string errorName(const std::string &name);
// Runs gdbus call on io.github.ipchub1: method is Interface.Member, e.g.
// "io.github.ipchub1.Manager.CreateSemaphore"; args are GVariant text.
CommandResult gdbusCall(const std::string &path, const std::string &method,
			const std::vector<std::string> &args);

// The path of the built ipchubd (from the build system).
std::string ipchubdPath();

} // namespace ipchub::test
