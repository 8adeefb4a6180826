// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchub-demo: two client processes share the semaphore "demo"; the child takes both of
// its units and is killed with SIGKILL while holding them; ipchubd gives them back and
// the parent's waiting acquire() is served. Every step is printed with its time.

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include <sys/wait.h>

#include "demo_support.hpp"

namespace {

using namespace demo;

constexpr const char *kKey = "demo";
constexpr uint32_t kUnits = 2;

std::string describeHolders(const std::vector<ipchub::SemaphoreHolder> &holders)
{
	if (holders.empty())
		return "nobody";
	std::string text;
	for (const auto &holder : holders) {
		if (!text.empty())
			text += ", ";
		text += holder.uniqueName + " holds " + std::to_string(holder.units);
	}
	return text;
}

// The child: its own connection, the semaphore opened by key, both units taken; then
// it tells the parent "held <unique name>" and waits to be killed. It never returns.
[[noreturn]] void runChild(int reportFd, const std::optional<std::string> &address)
{
	auto client = connect(address);
	if (!client) {
		writeLine(reportFd, "error connecting: " + describe(client.error()));
		::_exit(1);
	}
	auto sem = client->openSemaphore(kKey);
	if (!sem) {
		writeLine(reportFd, "error opening: " + describe(sem.error()));
		::_exit(1);
	}
	if (auto taken = sem->acquire(kUnits, 5s); !taken) {
		writeLine(reportFd, "error acquiring: " + describe(taken.error()));
		::_exit(1);
	}
	writeLine(reportFd, "held " + client->uniqueName());
	for (;;)
		::pause();
}

void runDemo(const std::optional<std::string> &address)
{
	auto client = check(connect(address), "connecting to the bus");
	say("parent", "connected to the bus as " + client.uniqueName() + ", PID " +
			      std::to_string(::getpid()));

	// A persistent "demo" left by an earlier run on this bus would make the create
	// below fail with AlreadyExists: start from a fresh one.
	if (auto old = client.openSemaphore(kKey)) {
		check(client.remove(old->path()), "removing the semaphore left by an earlier run");
		say("parent", "removed the semaphore \"demo\" left by an earlier run");
	}

	ipchub::SemaphoreOptions options;
	options.persistent = true;
	auto sem = check(client.createSemaphore(kKey, kUnits, options),
			 "creating the semaphore \"demo\"");
	say("parent", "created semaphore \"demo\" with " + std::to_string(kUnits) + " units at " +
			      sem.path());
	say("", "(persistent: it stays on the bus after this demo, for busctl and gdbus)");

	auto [child, reportFd] = forkReporting([&](int fd) { runChild(fd, address); });
	const pid_t pid = child.pid();
	say("parent", "forked child PID " + std::to_string(pid) +
			      ": it connects on its own, opens \"demo\" and acquires 2 units");

	auto report = readLine(reportFd, 10s);
	::close(reportFd);
	expect(report.has_value(), "the child did not report within 10 s");
	expect(report->starts_with("held "), "the child failed: " + *report);
	const std::string childName = report->substr(5);
	say("child", "acquired 2 units as " + childName + "; it now sleeps holding them");

	say("parent",
	    "value() = " + std::to_string(check(sem.value(), "value()")) +
		    " free units; holders: " + describeHolders(check(sem.holders(), "holders()")));

	const bool got = check(sem.tryAcquire(1), "tryAcquire(1)");
	expect(!got, "tryAcquire(1) succeeded although the child holds every unit");
	say("parent", "tryAcquire(1) -> false: no unit is free");

	auto begin = Clock::now();
	auto timedOut = sem.acquire(1, 300ms);
	expect(!timedOut && timedOut.error().code == ipchub::ErrorCode::Timeout,
	       "acquire(1, 0.3 s) should have timed out");
	say("parent", "acquire(1, timeout 0.3 s) waited " + seconds(secondsSince(begin)) +
			      ", then: " + describe(timedOut.error()));

	// Kill the child from a second thread while this one waits in acquire(): the
	// service must give the dead child's units back and serve the waiting call.
	std::atomic<Clock::rep> killedAt{0};
	say("parent", "acquire(1, timeout 10 s) starts waiting; the child gets SIGKILL in 0.5 s");
	begin = Clock::now();
	std::jthread killer([&] {
		std::this_thread::sleep_for(500ms);
		::kill(pid, SIGKILL);
		killedAt = Clock::now().time_since_epoch().count();
	});
	auto served = sem.acquire(1, 10s);
	const auto servedAt = Clock::now();
	killer.join();
	const Clock::time_point killTime{Clock::duration(killedAt.load())};
	say("child", "killed with SIGKILL at " + seconds(secondsSince(gStart, killTime)) +
			     ", still holding 2 units");
	check(std::move(served), "acquire(1, 10 s) after the kill");
	expect(servedAt >= killTime, "acquire(1) was served before the child was killed");
	say("parent", "acquire(1) served after " + seconds(secondsSince(begin, servedAt)) + ", " +
			      seconds(secondsSince(killTime, servedAt)) +
			      " after the kill: ipchubd gave the dead child's units back");

	const int status = child.wait();
	expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "the child did not end by SIGKILL");

	const uint32_t value = check(sem.value(), "value()");
	const auto holders = check(sem.holders(), "holders()");
	say("parent",
	    "value() = " + std::to_string(value) + " free unit; holders: " + describeHolders(holders));
	expect(value == kUnits - 1, "value() should be 1 after the child's units came back");
	expect(holders.size() == 1 && holders[0].uniqueName == client.uniqueName() &&
		       holders[0].units == 1,
	       "the parent should be the only holder, with 1 unit");

	check(sem.release(1), "release(1)");
	say("parent", "release(1): value() = " + std::to_string(check(sem.value(), "value()")) +
			      "; the semaphore is whole again");
}

} // namespace

int main(int argc, char **argv)
{
	return runMain(argc, argv, "ipchub-demo",
		       "Two processes share the ipchubd semaphore \"demo\"; the one holding its\n"
		       "units is killed with SIGKILL and the units come back.\n",
		       runDemo);
}
