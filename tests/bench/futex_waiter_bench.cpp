// SPDX-License-Identifier: LGPL-2.1-or-later
// How long ipchubd's loop takes to hear of a fast page's word: from another process's
// store+FUTEX_WAKE on the word (as recovery does) to the FutexWaiter's callback on the
// sd-event loop, against a bare bus round trip and a plain FUTEX_WAIT wake-up, all three
// measured in the same run in alternating blocks. The loop and the waiter's thread run
// on ipchubd's CPU, the waking process and the bare calls on the client's (see
// pinProcesses in bench_env.cpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <functional>
#include <linux/futex.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <systemd/sd-event.h>

#include "bench_env.hpp"
#include "bus/futex_waiter.hpp"
#include "page.hpp"

namespace ipchub::bench {
namespace {

BenchEnv *env;

constexpr size_t kPageBytes = 4096;

// What the parent and the waking child share (anonymous shared memory).
struct Control {
	// Bumped by the parent for each wake it wants; the child answers once per bump.
	std::atomic<uint32_t> round{0};
	std::atomic<uint32_t> done{0};
	std::atomic<uint32_t> quit{0};
	// The call the parent's main thread sleeps in when the child may wake it.
	std::atomic<long> sleepsIn{0};
	std::atomic<int64_t> t0{0};
};

int64_t nowNs()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

long futex(std::atomic<uint32_t> &word, int op, uint32_t value)
{
	return syscall(SYS_futex, &word, op, value, nullptr, nullptr, 0);
}

void waitChange(std::atomic<uint32_t> &word, uint32_t seen)
{
	while (word.load() == seen)
		futex(word, FUTEX_WAIT, seen);
}

void bump(std::atomic<uint32_t> &word)
{
	word.fetch_add(1);
	futex(word, FUTEX_WAKE, INT_MAX);
}

// The system call a thread is blocked in (/proc/.../syscall: its number first), -1 if
// it runs.
long blockedIn(const std::string &path)
{
	FILE *f = std::fopen(path.c_str(), "r");
	if (!f)
		return -1;
	long nr = -1;
	if (std::fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	std::fclose(f);
	return nr;
}

// Whether the sd-event loop sleeps: sd-event uses epoll_pwait2 where the kernel has it.
bool inEpoll(long nr)
{
	return nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2;
}

bool threadInFutexWaitv()
{
	DIR *tasks = opendir("/proc/self/task");
	if (!tasks)
		return false;
	bool found = false;
	while (const dirent *task = readdir(tasks))
		if (task->d_name[0] != '.' &&
		    blockedIn(std::string("/proc/self/task/") + task->d_name + "/syscall") ==
			    SYS_futex_waitv)
			found = true;
	closedir(tasks);
	return found;
}

// The waking process: for each round, once the parent's main thread sleeps in the call
// named, notes t0, changes the word and wakes it.
int wakerChild(Control &control, int pageFd, pid_t parent)
{
	auto mapped = fast::mapReceivedPage(UniqueFd(pageFd), kPageBytes);
	if (!mapped)
		return 1;
	auto &word = *static_cast<std::atomic<uint32_t> *>(mapped->address());
	const std::string parentMain =
		"/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/syscall";
	uint32_t seen = 0;
	for (;;) {
		waitChange(control.round, seen);
		seen = control.round.load();
		if (control.quit.load())
			return 0;
		const long want = control.sleepsIn.load();
		while (want == SYS_epoll_wait ? !inEpoll(blockedIn(parentMain))
					      : blockedIn(parentMain) != want)
			std::this_thread::yield();
		control.t0 = nowNs();
		word.fetch_add(1);
		futex(word, FUTEX_WAKE, INT_MAX);
		bump(control.done);
	}
}

// The CPU a process is pinned to; -1 if it may run on more than one.
int onlyCpu(pid_t pid)
{
	cpu_set_t set;
	if (sched_getaffinity(pid, sizeof set, &set) < 0 || CPU_COUNT(&set) != 1)
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

void pinTo(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

double percentile(std::vector<double> values, double p)
{
	if (values.empty())
		return 0;
	std::sort(values.begin(), values.end());
	return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

// Blocks of the three alternate (bare, waiter, futex, futex, waiter, bare, ...), so that
// all see the same load; each block's first call is not timed.
void BM_WaiterLatency(benchmark::State &state)
{
	// The CPUs pinProcesses gave the client (this thread) and ipchubd; none where
	// it pinned nothing.
	const int clientCpu = onlyCpu(0), serviceCpu = onlyCpu(env->ipchubdPid());

	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto proxy = bareProxy(*connection);

	auto created = fast::createPage("futex-waiter-bench", kPageBytes);
	if (!created) {
		state.SkipWithError("createPage failed");
		return;
	}
	auto mapping = fast::mapPage(created->get(), kPageBytes);
	if (!mapping) {
		state.SkipWithError("mapPage failed");
		return;
	}
	auto &word = *static_cast<std::atomic<uint32_t> *>(mapping->address());

	void *shared = mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		state.SkipWithError("mmap failed");
		return;
	}
	auto &control = *new (shared) Control();
	const pid_t parent = getpid();
	const int childFd = fcntl(created->get(), F_DUPFD_CLOEXEC, 0);
	const pid_t child = fork();
	if (child == 0)
		_exit(wakerChild(control, childFd, parent));
	close(childFd);

	sd_event *loop = nullptr;
	sd_event_new(&loop);
	std::vector<double> bareUs, waiterUs, futexUs;
	{
		// Made on ipchubd's CPU: its thread stays there.
		pinTo(serviceCpu);
		bus::FutexWaiter waiter(loop, bus::FutexWaiter::Backend::WaitV);
		// A word nothing changes, so the thread runs before the first timed call.
		std::atomic<uint32_t> idle{0};
		const auto idleWatch = waiter.watch(idle, 0, [] {});
		pinTo(clientCpu);

		auto wakeOnce = [&](long sleepsIn, const std::function<void()> &sleep) {
			const uint32_t done = control.done.load();
			control.sleepsIn = sleepsIn;
			bump(control.round);
			sleep();
			const int64_t t1 = nowNs();
			waitChange(control.done, done);
			return static_cast<double>(t1 - control.t0.load()) / 1e3;
		};
		auto waiterCall = [&] {
			bool called = false;
			int64_t calledAt = 0;
			waiter.watch(word, word.load(), [&] {
				calledAt = nowNs();
				called = true;
			});
			while (!threadInFutexWaitv())
				std::this_thread::yield();
			const uint32_t done = control.done.load();
			control.sleepsIn = SYS_epoll_wait;
			bump(control.round);
			while (!called)
				sd_event_run(loop, UINT64_MAX);
			waitChange(control.done, done);
			return static_cast<double>(calledAt - control.t0.load()) / 1e3;
		};
		auto futexCall = [&] {
			const uint32_t seen = word.load();
			return wakeOnce(SYS_futex, [&] {
				while (word.load() == seen)
					futex(word, FUTEX_WAIT, seen);
			});
		};
		auto bareCall = [&] {
			const auto start = std::chrono::steady_clock::now();
			proxy->callMethod("Ping").onInterface(kBareInterface);
			return std::chrono::duration<double, std::micro>(
				       std::chrono::steady_clock::now() - start)
				.count();
		};

		constexpr int kBlocks = 20, kPerBlock = 25;
		for (auto _ : state) {
			for (int block = 0; block < kBlocks * 3; ++block) {
				const int kind = (block / 3 % 2 == 0) ? block % 3 : 2 - block % 3;
				// The loop and FUTEX_WAIT run where ipchubd would; the bare
				// client where clients do.
				pinTo(kind == 0 ? clientCpu : serviceCpu);
				auto &times = kind == 0 ? bareUs : kind == 1 ? waiterUs : futexUs;
				for (int n = 0; n <= kPerBlock; ++n) {
					const double us = kind == 0   ? bareCall()
							  : kind == 1 ? waiterCall()
								      : futexCall();
					if (n > 0)
						times.push_back(us);
				}
			}
		}
		pinTo(clientCpu);
		waiter.cancel(idleWatch);
	}
	sd_event_unref(loop);
	control.quit = 1;
	bump(control.round);
	waitpid(child, nullptr, 0);
	munmap(shared, sizeof(Control));

	state.counters["waiter_p50_us"] = percentile(waiterUs, 0.5);
	state.counters["waiter_p99_us"] = percentile(waiterUs, 0.99);
	state.counters["futex_p50_us"] = percentile(futexUs, 0.5);
	state.counters["futex_p99_us"] = percentile(futexUs, 0.99);
	state.counters["bare_p50_us"] = percentile(bareUs, 0.5);
	state.counters["bare_p99_us"] = percentile(bareUs, 0.99);
	state.counters["ratio"] = percentile(waiterUs, 0.5) / percentile(bareUs, 0.5);
	state.counters["p99_ratio"] = percentile(waiterUs, 0.99) / percentile(bareUs, 0.99);
	state.counters["over_futex_us"] = percentile(waiterUs, 0.5) - percentile(futexUs, 0.5);
}

BENCHMARK(BM_WaiterLatency)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	ipchub::bench::BenchEnv env;
	ipchub::bench::env = &env;
	return ipchub::bench::runWithRatios(
		argc, argv,
		{{"FUTEX_WAKE in another process -> loop callback / bare round trip (p50)",
		  "BM_WaiterLatency:ratio", ""},
		 {"the same at p99 / bare round trip p99", "BM_WaiterLatency:p99_ratio", ""},
		 {"FUTEX_WAKE -> loop callback p50, us", "BM_WaiterLatency:waiter_p50_us", ""},
		 {"FUTEX_WAKE -> loop callback p99, us", "BM_WaiterLatency:waiter_p99_us", ""},
		 {"FUTEX_WAKE -> thread in FUTEX_WAIT p50, us", "BM_WaiterLatency:futex_p50_us",
		  ""},
		 {"FUTEX_WAKE -> thread in FUTEX_WAIT p99, us", "BM_WaiterLatency:futex_p99_us",
		  ""},
		 {"the waiter's own share (eventfd, loop) p50, us",
		  "BM_WaiterLatency:over_futex_us", ""},
		 {"bare round trip p50, us", "BM_WaiterLatency:bare_p50_us", ""},
		 {"bare round trip p99, us", "BM_WaiterLatency:bare_p99_us", ""}});
}
