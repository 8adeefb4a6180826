// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchub-lock-demo: a child process takes the lock "db" exclusively and is killed
// with SIGKILL while holding it; the parent, waiting for a shared grant, gets the lock
// the moment the child dies, with a larger fencing token. Then a lock handle: the lock
// is held until the handle's fd is closed.

#include <atomic>
#include <csignal>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "demo_support.hpp"

namespace {

using namespace demo;

constexpr const char *kKey = "db";

std::string modeName(ipchub::LockState state)
{
	switch (state) {
	case ipchub::LockState::Unlocked:
		return "unlocked";
	case ipchub::LockState::Shared:
		return "shared";
	case ipchub::LockState::Exclusive:
		return "exclusive";
	}
	return "?";
}

// The child: takes "db" exclusively, reports "held <token>", and waits to be killed.
[[noreturn]] void runHolder(int reportFd, const std::optional<std::string> &address)
{
	auto client = connect(address);
	if (!client) {
		writeLine(reportFd, "error connecting: " + describe(client.error()));
		::_exit(1);
	}
	auto lock = client->openLock(kKey);
	if (!lock) {
		writeLine(reportFd, "error opening: " + describe(lock.error()));
		::_exit(1);
	}
	auto guard = lock->acquire(ipchub::LockMode::Exclusive, 5s);
	if (!guard) {
		writeLine(reportFd, "error acquiring: " + describe(guard.error()));
		::_exit(1);
	}
	writeLine(reportFd, "held " + std::to_string(guard->token()));
	for (;;)
		::pause();
}

void runDemo(const std::optional<std::string> &address)
{
	auto client = check(connect(address), "connecting to the bus");
	say("parent", "connected as " + client.uniqueName() + ", PID " + std::to_string(::getpid()));

	if (auto old = client.openLock(kKey)) {
		check(client.remove(old->path()), "removing the lock left by an earlier run");
		say("parent", "removed the lock \"db\" left by an earlier run");
	}
	ipchub::LockOptions options;
	options.persistent = true;
	auto lock = check(client.createLock(kKey, options), "creating the lock \"db\"");
	say("parent", "created the lock \"db\" at " + lock.path() + " (persistent)");

	auto [child, reportFd] = forkReporting([&](int fd) { runHolder(fd, address); });
	const pid_t pid = child.pid();
	auto report = readLine(reportFd, 10s);
	::close(reportFd);
	expect(report && report->starts_with("held "),
	       "the holder failed: " + report.value_or("no report"));
	const uint64_t firstToken = std::stoull(report->substr(5));
	say("child", "PID " + std::to_string(pid) + " holds \"db\" exclusively, fencing token " +
			     std::to_string(firstToken));

	for (const auto &holder : check(lock.holders(), "holders()")) {
		say("parent", "Holders: " + holder.uniqueName + " " +
				      (holder.mode == ipchub::LockMode::Shared ? "shared" : "exclusive") +
				      ", PID " + std::to_string(holder.pid) + ", token " +
				      std::to_string(holder.token));
		expect(holder.pid == pid, "Holders shows the wrong PID");
	}

	auto timedOut = lock.acquire(ipchub::LockMode::Shared, 300ms);
	expect(!timedOut && timedOut.error().code == ipchub::ErrorCode::Timeout,
	       "a shared acquire should time out while the child holds the lock");
	say("parent", "acquire(shared, 0.3 s): " + describe(timedOut.error()));

	say("parent", "acquire(shared, 10 s) starts waiting; the child gets SIGKILL in 0.5 s");
	std::atomic<Clock::rep> killedAt{0};
	std::jthread killer([&, pid = pid] {
		std::this_thread::sleep_for(500ms);
		::kill(pid, SIGKILL);
		killedAt = Clock::now().time_since_epoch().count();
	});
	auto guard = lock.acquire(ipchub::LockMode::Shared, 10s);
	const auto servedAt = Clock::now();
	killer.join();
	const Clock::time_point killTime{Clock::duration(killedAt.load())};
	auto held = check(std::move(guard), "acquire(shared, 10 s) after the kill");
	expect(held.token() > firstToken, "the new token is not larger than the old one");
	say("parent", "got the lock " + seconds(secondsSince(killTime, servedAt)) +
			      " after the kill, mode " + modeName(check(lock.mode(), "mode()")) +
			      ", token " + std::to_string(held.token()) + " > " +
			      std::to_string(firstToken));
	(void)child.wait();
	check(held.release(), "release()");

	auto handle = check(lock.acquireHandle(ipchub::LockMode::Exclusive, 1s), "acquireHandle()");
	say("parent", "acquireHandle(exclusive): fd " + std::to_string(handle.fd()) + ", token " +
			      std::to_string(handle.token()) + ", mode " +
			      modeName(check(lock.mode(), "mode()")));
	handle.close();
	const auto closedAt = Clock::now();
	while (check(lock.mode(), "mode()") != ipchub::LockState::Unlocked) {
		expect(secondsSince(closedAt) < 5, "closing the handle did not release the lock");
		std::this_thread::sleep_for(2ms);
	}
	say("parent", "closed the handle's fd: the lock is unlocked again");
}

} // namespace

int main(int argc, char **argv)
{
	return runMain(argc, argv, "ipchub-lock-demo",
		       "A child holds the ipchubd lock \"db\" and is killed; the waiting parent\n"
		       "gets it with a larger fencing token. Then a lock handle is closed.\n",
		       runDemo);
}
