// SPDX-License-Identifier: LGPL-2.1-or-later
#include "bench_env.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string_view>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <sys/mman.h>
#include <unistd.h>

namespace ipchub::bench {

namespace {

pid_t spawnChild(const std::vector<std::string> &argv, int outFd = -1)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (outFd >= 0)
			dup2(outFd, 3);
		std::vector<char *> args;
		for (const auto &arg : argv)
			args.push_back(const_cast<char *>(arg.c_str()));
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	return pid;
}

// The floor: a service that does nothing but answer.
[[noreturn]] void serveBare(const std::string &address)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	auto connection = sdbus::createSessionBusConnectionWithAddress(address);
	int memfd = memfd_create("bench-floor", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, kBareMemfdSize) < 0)
		_exit(1);
	auto object = sdbus::createObject(*connection, kBarePath);
	object->registerMethod("Ping").onInterface(kBareInterface).implementedAs([] {});
	object->registerMethod("Fd").onInterface(kBareInterface).implementedAs([memfd] {
		return sdbus::UnixFd(memfd);
	});
	// Calls left pending in dbus-daemon, as parked Acquire calls are: the floor of what
	// 10,000 of them cost an unrelated call (scale_bench).
	std::vector<sdbus::Result<>> parked;
	object->registerMethod("Park").onInterface(kBareInterface).implementedAs(
		[&parked](sdbus::Result<> &&result) { parked.push_back(std::move(result)); });
	object->registerMethod("Parked").onInterface(kBareInterface).implementedAs([&parked] {
		return static_cast<uint32_t>(parked.size());
	});
	// Forgets the parked calls without answering them (their callers have gone).
	object->registerMethod("Unpark").onInterface(kBareInterface).implementedAs([&parked] {
		parked.clear();
	});
	object->finishRegistration();
	connection->requestName(kBareName);
	connection->enterEventLoop();
	_exit(0);
}

bool nameOwned(sdbus::IConnection &connection, const std::string &name)
{
	auto proxy = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
	bool owned = false;
	proxy->callMethod("NameHasOwner")
		.onInterface("org.freedesktop.DBus")
		.withArguments(name)
		.storeResultsTo(owned);
	return owned;
}

// Where the processes run: ipchubd and the bare service on one CPU, the bus and the
// benchmark (with its client threads and children) on another, as a desktop's
// client and service usually are. Left to the scheduler, the placement changes from
// run to run and the two services do not get the same one: a bare round trip took
// 51 us in one run and 140 us in the next on a 2-CPU machine, and a ratio of two
// services measured 2.1 where pinned runs measure 1.02-1.07. One CPU: nothing to pin.
void pinProcesses(pid_t bus, pid_t ipchubd, pid_t bare)
{
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof allowed, &allowed) < 0 || CPU_COUNT(&allowed) < 2)
		return;
	std::vector<int> cpus;
	for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu)
		if (CPU_ISSET(cpu, &allowed))
			cpus.push_back(cpu);
	const auto pin = [](pid_t pid, int cpu) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(pid, sizeof set, &set) < 0)
			throw std::runtime_error("sched_setaffinity failed");
	};
	pin(ipchubd, cpus[1]);
	pin(bare, cpus[1]);
	pin(bus, cpus[0]);
	pin(0, cpus[0]);
}

} // namespace

BenchEnv::BenchEnv(const std::vector<std::string> &ipchubdArgs)
{
	int fds[2];
	if (pipe(fds) < 0)
		throw std::runtime_error("pipe failed");
	children_.push_back(spawnChild({"dbus-daemon", "--config-file=/usr/share/dbus-1/session.conf",
					"--nofork", "--print-address=3"},
				       fds[1]));
	close(fds[1]);
	char c;
	while (read(fds[0], &c, 1) == 1 && c != '\n')
		address_.push_back(c);
	close(fds[0]);
	if (address_.empty())
		throw std::runtime_error("dbus-daemon did not start");
	setenv("DBUS_SESSION_BUS_ADDRESS", address_.c_str(), 1);

	const char *ipchubd = std::getenv("IPCHUBD");
	std::vector<std::string> argv{ipchubd ? ipchubd : "ipchubd"};
	argv.insert(argv.end(), ipchubdArgs.begin(), ipchubdArgs.end());
	children_.push_back(spawnChild(argv));
	pid_t bare = fork();
	if (bare == 0)
		serveBare(address_);
	children_.push_back(bare);
	pinProcesses(busPid(), ipchubdPid(), barePid());

	auto connection = sdbus::createSessionBusConnectionWithAddress(address_);
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	while (!nameOwned(*connection, "io.github.ipchub1") || !nameOwned(*connection, kBareName)) {
		if (std::chrono::steady_clock::now() > deadline)
			throw std::runtime_error("ipchubd or the bare service did not start");
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
}

BenchEnv::~BenchEnv()
{
	for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
		kill(*it, SIGTERM);
		waitpid(*it, nullptr, 0);
	}
}

std::unique_ptr<sdbus::IProxy> bareProxy(sdbus::IConnection &connection)
{
	return sdbus::createProxy(connection, kBareName, kBarePath);
}

uint64_t cpuNs(pid_t pid)
{
	std::ifstream stat(pid == 0 ? std::string("/proc/thread-self/schedstat")
				    : "/proc/" + std::to_string(pid) + "/schedstat");
	uint64_t ns = 0;
	stat >> ns;
	return ns;
}

long rssKiB(pid_t pid)
{
	std::ifstream status("/proc/" + std::to_string(pid) + "/status");
	std::string word;
	while (status >> word)
		if (word == "VmRSS:") {
			long kib = 0;
			status >> kib;
			return kib;
		}
	return -1;
}

namespace {

double median(std::vector<double> values)
{
	if (values.empty())
		return 0;
	auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
	std::nth_element(values.begin(), middle, values.end());
	return *middle;
}

std::vector<std::pair<std::string, double>> &figures()
{
	static std::vector<std::pair<std::string, double>> figures;
	return figures;
}

} // namespace

void reportFigure(const std::string &label, double value)
{
	figures().emplace_back(label, value);
}

void compareInterleaved(benchmark::State &state, const BenchEnv &env,
			const std::function<void()> &floor, const std::function<void()> &subject,
			const std::function<void(bool subject)> &beforeBlock, int blocks,
			int perBlock)
{
	const pid_t pids[] = {env.busPid(), env.ipchubdPid(), env.barePid(), 0};
	auto cpuNow = [&] {
		uint64_t sum = 0;
		for (pid_t pid : pids)
			sum += cpuNs(pid);
		return sum;
	};
	std::vector<double> floorUs, subjectUs;
	double floorCpu = 0, subjectCpu = 0;
	for (int i = 0; i < 5; ++i) {
		floor();
		subject();
	}
	for (auto _ : state) {
		for (int block = 0; block < blocks * 2; ++block) {
			// floor, subject, subject, floor...: neither always goes first
			const bool isSubject = (block % 4 == 1 || block % 4 == 2);
			auto &times = isSubject ? subjectUs : floorUs;
			const auto &call = isSubject ? subject : floor;
			if (beforeBlock)
				beforeBlock(isSubject);
			const uint64_t cpuBefore = cpuNow();
			for (int n = 0; n < perBlock; ++n) {
				const auto start = std::chrono::steady_clock::now();
				call();
				times.push_back(std::chrono::duration<double, std::micro>(
							std::chrono::steady_clock::now() - start)
							.count());
			}
			(isSubject ? subjectCpu : floorCpu) += static_cast<double>(cpuNow() - cpuBefore);
		}
	}
	const double floorMedian = median(floorUs), subjectMedian = median(subjectUs);
	state.counters["floor_us"] = floorMedian;
	state.counters["subject_us"] = subjectMedian;
	state.counters["ratio"] = subjectMedian / floorMedian;
	state.counters["cpu_ratio"] = subjectCpu / floorCpu;
}

namespace {

// Keeps the median real time (ns) of every benchmark as it is reported.
class MedianReporter : public benchmark::ConsoleReporter
{
public:
	MedianReporter() : ConsoleReporter(isatty(1) ? OO_Defaults : OO_Tabular) {}

	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const auto &run : runs) {
			if (run.error_occurred)
				continue;
			const bool median = run.run_type == Run::RT_Aggregate &&
					    run.aggregate_name == "median";
			const bool single = run.run_type == Run::RT_Iteration &&
					    run.repetitions <= 1;
			if (median || single)
				for (const auto &[counter, value] : run.counters)
					medians[nameOf(run) + ":" + counter] = value.value;
			if (median || single)
				medians[nameOf(run)] =
					run.GetAdjustedRealTime() *
					(run.time_unit == benchmark::kMicrosecond ? 1e3
					 : run.time_unit == benchmark::kMillisecond ? 1e6
										    : 1.0);
		}
	}

	std::map<std::string, double> medians;

private:
	static std::string nameOf(const Run &run)
	{
		std::string name = run.run_name.function_name;
		if (!run.run_name.args.empty())
			name += "/" + run.run_name.args;
		return name;
	}
};

} // namespace

int runWithRatios(int argc, char **argv, const std::vector<Ratio> &ratios)
{
	// A run of some benchmarks only may leave ratios out; a whole run may not.
	const bool filtered = std::any_of(argv + 1, argv + argc, [](const char *arg) {
		return std::string_view(arg).starts_with("--benchmark_filter");
	});
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	MedianReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();

	// The machine-readable file: where ./dev bench (meson) says; /dev/null for a
	// benchmark run by hand.
	const char *jsonPath = std::getenv("IPCHUB_BENCH_JSON");
	std::ofstream json(jsonPath ? jsonPath : "/dev/null");
	json << "{\n  \"median_ns\": {";
	const char *separator = "\n";
	for (const auto &[name, ns] : reporter.medians) {
		json << separator << "    \"" << name << "\": " << ns;
		separator = ",\n";
	}
	json << "\n  },\n  \"ratios\": {";
	separator = "\n";
	std::cout << "\nRatios (medians of real time, measured in this run):\n";
	int missing = 0;
	for (const auto &[label, numerator, denominator] : ratios) {
		auto top = reporter.medians.find(numerator);
		auto bottom = reporter.medians.find(denominator);
		if (top == reporter.medians.end() ||
		    (!denominator.empty() && bottom == reporter.medians.end())) {
			++missing;
			continue;
		}
		const double ratio = top->second / (denominator.empty() ? 1.0 : bottom->second);
		std::printf("  %-52s %6.3f   (%s / %s)\n", label.c_str(), ratio, numerator.c_str(),
			    denominator.c_str());
		json << separator << "    \"" << label << "\": " << ratio;
		separator = ",\n";
	}
	for (const auto &[label, value] : figures()) {
		std::printf("  %-52s %9.3f\n", label.c_str(), value);
		json << separator << "    \"" << label << "\": " << value;
		separator = ",\n";
	}
	json << "\n  }\n}\n";
	return missing == 0 || filtered ? 0 : 1;
}

} // namespace ipchub::bench
