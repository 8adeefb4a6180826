// The cost of a lock: an Acquire+Release pair through ipchubd against a pair of bare
// sdbus-c++ round trips to a trivial service on the same private bus. Both pairs are
// two method calls and two replies through dbus-daemon; the difference is ipchubd.
//
// Runs on its own: it starts a private dbus-daemon and ipchubd ($IPCHUBD, else
// "ipchubd" from PATH) and prints the ratio at the end.

#include <benchmark/benchmark.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

#include <ipchub/ipchub.hpp>

namespace {

constexpr const char *kPingName = "io.github.ipchub1.Bench";
constexpr const char *kPingPath = "/io/github/ipchub1/Bench";
constexpr const char *kPingInterface = "io.github.ipchub1.Bench";

// A process of the benchmark's own, killed and reaped when it goes.
class Process
{
public:
	explicit Process(std::vector<std::string> argv, int outFd = -1)
	{
		pid_ = fork();
		if (pid_ < 0)
			throw std::runtime_error("fork failed");
		if (pid_ == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (outFd >= 0)
				dup2(outFd, STDOUT_FILENO);
			std::vector<char *> args;
			for (auto &arg : argv)
				args.push_back(arg.data());
			args.push_back(nullptr);
			execvp(args[0], args.data());
			_exit(127);
		}
	}
	Process(const Process &) = delete;
	Process &operator=(const Process &) = delete;
	~Process()
	{
		kill(pid_, SIGTERM);
		waitpid(pid_, nullptr, 0);
	}

private:
	pid_t pid_;
};

// dbus-daemon --session on a private address, ipchubd, and a trivial Ping service.
class World
{
public:
	World()
	{
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0)
			throw std::runtime_error("pipe2 failed");
		bus_ = std::make_unique<Process>(
			std::vector<std::string>{"dbus-daemon", "--session", "--nofork", "--print-address"},
			fds[1]);
		close(fds[1]);
		char c;
		while (read(fds[0], &c, 1) == 1 && c != '\n')
			address_.push_back(c);
		close(fds[0]);
		if (address_.empty())
			throw std::runtime_error("dbus-daemon did not print its address");
		setenv("DBUS_SESSION_BUS_ADDRESS", address_.c_str(), 1);

		const char *ipchubd = std::getenv("IPCHUBD");
		daemon_ = std::make_unique<Process>(std::vector<std::string>{ipchubd ? ipchubd : "ipchubd"});

		pingConnection_ = sdbus::createSessionBusConnectionWithAddress(address_);
		pingObject_ = sdbus::createObject(*pingConnection_, kPingPath);
		pingObject_->registerMethod("Ping").onInterface(kPingInterface).implementedAs([] {});
		pingObject_->finishRegistration();
		pingConnection_->requestName(kPingName);
		pingConnection_->enterEventLoopAsync();

		waitForName("io.github.ipchub1");
	}
	~World()
	{
		pingConnection_->leaveEventLoop();
		pingObject_.reset();
		pingConnection_.reset();
	}

	const std::string &address() const { return address_; }

private:
	void waitForName(const std::string &name)
	{
		auto connection = sdbus::createSessionBusConnectionWithAddress(address_);
		auto proxy = sdbus::createProxy(*connection, "org.freedesktop.DBus",
						"/org/freedesktop/DBus");
		const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
		for (;;) {
			bool owned = false;
			proxy->callMethod("NameHasOwner")
				.onInterface("org.freedesktop.DBus")
				.withArguments(name)
				.storeResultsTo(owned);
			if (owned)
				return;
			if (std::chrono::steady_clock::now() > deadline)
				throw std::runtime_error(name + " did not appear on the bus");
			std::this_thread::sleep_for(std::chrono::milliseconds(5));
		}
	}

	std::string address_;
	std::unique_ptr<Process> bus_;
	std::unique_ptr<Process> daemon_;
	std::unique_ptr<sdbus::IConnection> pingConnection_;
	std::unique_ptr<sdbus::IObject> pingObject_;
};

World *world = nullptr;

void bareRoundTripPair(benchmark::State &state)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(world->address());
	auto proxy = sdbus::createProxy(*connection, kPingName, kPingPath);
	for (auto _ : state) {
		proxy->callMethod("Ping").onInterface(kPingInterface);
		proxy->callMethod("Ping").onInterface(kPingInterface);
	}
}

void lockPair(benchmark::State &state, ipchub::LockMode mode)
{
	auto client = ipchub::Client::connect(world->address());
	auto lock = client ? client->createLock("bench", {.openExisting = true})
			   : ipchub::Result<ipchub::Lock>(ipchub::fail(ipchub::ErrorCode::Failed, ""));
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		auto guard = lock->acquire(mode, std::chrono::seconds(1));
		if (!guard || !guard->release()) {
			state.SkipWithError("Acquire or Release failed");
			return;
		}
	}
}

void exclusiveLockPair(benchmark::State &state)
{
	lockPair(state, ipchub::LockMode::Exclusive);
}

void sharedLockPair(benchmark::State &state)
{
	lockPair(state, ipchub::LockMode::Shared);
}

BENCHMARK(bareRoundTripPair)->UseRealTime();
BENCHMARK(exclusiveLockPair)->UseRealTime();
BENCHMARK(sharedLockPair)->UseRealTime();

// Remembers each benchmark's time per iteration (the median, with repetitions) so
// that main can print the ratio.
class RatioReporter : public benchmark::ConsoleReporter
{
public:
	RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

	void ReportRuns(const std::vector<Run> &runs) override
	{
		for (const auto &run : runs) {
			// "name/real_time" and the like: keep the name.
			const std::string name =
				run.run_name.function_name.substr(0, run.run_name.function_name.find('/'));
			if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median")
				medians[name] = run.GetAdjustedRealTime();
			else if (run.run_type == Run::RT_Iteration)
				times[name] = run.GetAdjustedRealTime();
		}
		ConsoleReporter::ReportRuns(runs);
	}

	double time(const std::string &name) const
	{
		if (auto it = medians.find(name); it != medians.end())
			return it->second;
		auto it = times.find(name);
		return it == times.end() ? 0 : it->second;
	}

private:
	std::map<std::string, double> times;
	std::map<std::string, double> medians;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	try {
		World theWorld;
		world = &theWorld;
		RatioReporter reporter;
		benchmark::RunSpecifiedBenchmarks(&reporter);
		world = nullptr;
		if (const double bare = reporter.time("bareRoundTripPair"); bare > 0)
			for (const char *name : {"exclusiveLockPair", "sharedLockPair"})
				if (const double lock = reporter.time(name); lock > 0)
					std::printf("%s / bareRoundTripPair = %.2f\n", name, lock / bare);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "lock_bench: %s\n", e.what());
		return 1;
	}
	benchmark::Shutdown();
	return 0;
}
