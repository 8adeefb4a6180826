#pragma once

// What every benchmark runs against: a private dbus-daemon, the real ipchubd, and a
// bare sdbus-c++ service on the same bus, whose round trip is the floor that ipchub's
// costs are reported against.

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

// Starts the bus, ipchubd ($IPCHUBD) and the bare service; stops them when it goes.
class BenchEnv
{
public:
	BenchEnv();
	~BenchEnv();

	const std::string &address() const { return address_; }

private:
	std::string address_;
	std::vector<pid_t> children_;
};

// A proxy of the bare service: Ping() -> () and Fd() -> (h).
std::unique_ptr<sdbus::IProxy> bareProxy(sdbus::IConnection &connection);

// A figure to report: the median real time of one benchmark over another's, both
// measured in this run ("Name" or "Name/arg" as Google Benchmark names them).
struct Ratio {
	std::string label;
	std::string numerator;
	std::string denominator;
};

// Runs the benchmarks, prints the ratios and writes them (and every median) as JSON
// to $IPCHUB_BENCH_JSON or ipchub-bench.json.
int runWithRatios(int argc, char **argv, const std::vector<Ratio> &ratios);

} // namespace ipchub::bench
