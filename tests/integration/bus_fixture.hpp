#pragma once

// The integration tests' world: a private dbus-daemon (the distribution's session
// configuration, so its limits are the real ones) and the real ipchubd binary on it.

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

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

// A test with its own bus and its own ipchubd, started fresh for each test.
class IpchubTest : public ::testing::Test
{
protected:
	void SetUp() override;
	void TearDown() override;

	const std::string &address() const { return bus_->address(); }
	// Starts ipchubd with extra arguments and waits until it owns its name.
	void startDaemon(const std::vector<std::string> &args = {});
	// SIGTERM to ipchubd; its exit status.
	int stopDaemon();
	pid_t daemonPid() const { return daemon_.pid(); }
	// A new connection of the test process.
	Client connect();
	// Whether io.github.ipchub1 has an owner on the bus.
	bool nameOwned();

private:
	std::unique_ptr<PrivateBus> bus_;
	Child daemon_;
};

// The path of the built ipchubd (from the build system).
std::string ipchubdPath();

} // namespace ipchub::test
