// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What every benchmark runs against: a private dbus-daemon, the real ipchubd, and a
// bare sdbus-c++ service on the same bus, whose round trip is the floor that ipchub's
// costs are reported against.

#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <sdbus-c++/sdbus-c++.h>

namespace ipchub::bench {

inline constexpr const char *kBareName = "io.github.ipchub1.BenchFloor";
inline constexpr const char *kBarePath = "/bench";
inline constexpr const char *kBareInterface = "io.github.ipchub1.BenchFloor";
// The size of the memfd the bare service's Fd returns: a shared-memory object's, for the floor of
// mapping one.
inline constexpr int64_t kBareMemfdSize = 64 << 20;

// Starts the bus, ipchubd ($IPCHUBD) and the bare service; stops them when it goes.
class BenchEnv
{
public:
	explicit BenchEnv(const std::vector<std::string> &ipchubdArgs = {});
	~BenchEnv();

	const std::string &address() const { return address_; }
	pid_t busPid() const { return children_.at(0); }
	pid_t ipchubdPid() const { return children_.at(1); }
	pid_t barePid() const { return children_.at(2); }

private:
	std::string address_;
	std::vector<pid_t> children_;
};

// The CPU time a process has run, in ns (/proc/PID/schedstat); the calling thread's
// for pid 0.
uint64_t cpuNs(pid_t pid);
// A process's resident set (VmRSS in /proc/PID/status), in KiB.
long rssKiB(pid_t pid);

// Compares two operations on a loaded machine: runs blocks of floor() and subject()
// alternately (the load changes slowly, so both see the same), times every call, and
// sets the counters floor_us and subject_us (medians of the calls), ratio (their
// quotient) and cpu_ratio (CPU time of the bus, ipchubd, the bare service and this
// thread per call, subject over floor: the cost that load does not distort).
// beforeBlock, untimed, is told which operation's block comes next.
void compareInterleaved(benchmark::State &state, const BenchEnv &env,
			const std::function<void()> &floor, const std::function<void()> &subject,
			const std::function<void(bool subject)> &beforeBlock = {}, int blocks = 20,
			int perBlock = 25);

// A figure measured outside Google Benchmark (RSS per object...), reported in the
// table and the JSON file.
void reportFigure(const std::string &label, double value);

// A proxy of the bare service: Ping() -> () and Fd() -> (h); Park() -> () answers
// never, Parked() -> (u) counts the parked calls, Unpark() -> () forgets them.
std::unique_ptr<sdbus::IProxy> bareProxy(sdbus::IConnection &connection);

// A figure to report: the median real time of one benchmark over another's, both
// measured in this run ("Name" or "Name/arg" as Google Benchmark names them), or of
// one counter over another ("Name:counter", the median over the repetitions); an
// empty denominator reports the numerator itself.
struct Ratio {
	std::string label;
	std::string numerator;
	std::string denominator;
};

// Runs the benchmarks, prints the ratios and writes them (and every median) as JSON
// to $IPCHUB_BENCH_JSON or ipchub-bench.json.
int runWithRatios(int argc, char **argv, const std::vector<Ratio> &ratios);

} // namespace ipchub::bench
