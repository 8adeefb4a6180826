// SPDX-License-Identifier: LGPL-2.1-or-later
// Fast objects through libipchub, on the real ipchubd and a private dbus-daemon, against
// a POSIX semaphore in shared memory measured in the same run: an uncontended
// acquire+release of a fast semaphore and lock+unlock of a fast lock against a
// sem_wait+sem_post pair; a hand-off between two processes (the waiter asleep, the holder
// releasing, until the waiter holds) against sem_t's; and the time from SIGKILL of a
// holder to a waiter holding the lock (ipchubd sees the death through the bus and takes
// the lock back), beside a bare bus round trip.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <linux/futex.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

BenchEnv *env;

template <typename T>
T *sharedAnonymous()
{
	void *p =
		mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		std::abort();
	return new (p) T();
}

int64_t nowNs()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

void futexWaitWhile(std::atomic<uint32_t> &word, uint32_t seen)
{
	while (word.load() == seen)
		syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAIT, seen, nullptr,
			nullptr, 0);
}

void bump(std::atomic<uint32_t> &word)
{
	word.fetch_add(1);
	syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), FUTEX_WAKE, INT_MAX, nullptr,
		nullptr, 0);
}

// Whether a thread sleeps in a futex call (/proc/PID/task/TID/syscall: its number first).
bool asleepInFutex(pid_t pid, pid_t tid)
{
	char path[96];
	std::snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
	FILE *f = std::fopen(path, "r");
	if (!f)
		return false;
	long nr = -1;
	const bool got = std::fscanf(f, "%ld", &nr) == 1;
	std::fclose(f);
	return got && nr == SYS_futex;
}

double median(std::vector<double> values)
{
	std::sort(values.begin(), values.end());
	return values.empty() ? 0 : values[values.size() / 2];
}

double percentile(std::vector<double> values, double p)
{
	std::sort(values.begin(), values.end());
	if (values.empty())
		return 0;
	return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

void BM_SemTPair(benchmark::State &state)
{
	sem_t *sem = sharedAnonymous<sem_t>();
	sem_init(sem, 1, 1);
	for (auto _ : state) {
		sem_wait(sem);
		sem_post(sem);
	}
	sem_destroy(sem);
	munmap(sem, sizeof(sem_t));
}

void BM_BareRoundTrip(benchmark::State &state)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto proxy = bareProxy(*connection);
	for (auto _ : state)
		proxy->callMethod("Ping").onInterface(kBareInterface);
}

void BM_FastSemaphorePair(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto sem = client ? client->createSemaphore("bench-fast-sem", 3,
						    {.openExisting = true, .fast = true})
			  : Result<Semaphore>(errorOf(client));
	if (!sem) {
		state.SkipWithError(sem.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		if (!sem->acquire(1, kForever) || !sem->release(1)) {
			state.SkipWithError("acquire or release failed");
			return;
		}
	}
}

void BM_FastSemaphoreGuardPair(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto sem = client ? client->createSemaphore("bench-fast-sem", 3,
						    {.openExisting = true, .fast = true})
			  : Result<Semaphore>(errorOf(client));
	if (!sem) {
		state.SkipWithError(sem.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		auto guard = sem->acquireGuard(1, kForever);
		if (!guard || !guard->release()) {
			state.SkipWithError("acquireGuard or release failed");
			return;
		}
	}
}

void BM_FastLockPair(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto lock =
		client ? client->createLock("bench-fast-lock", {.openExisting = true, .fast = true})
		       : Result<Lock>(errorOf(client));
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		auto guard = lock->acquire(LockMode::Exclusive, kForever);
		if (!guard || !guard->release()) {
			state.SkipWithError("acquire or release failed");
			return;
		}
	}
}

// The hand-off: a forked child, with its own Client, waits asleep for the kind of object
// the parent names; the parent releases it at t0, the child notes t1 when it holds it.
struct HandOff {
	enum Kind : uint32_t {
		SemT,
		FastLock,
		Quit
	};
	std::atomic<uint32_t> round{0};
	std::atomic<uint32_t> kind{0};
	std::atomic<uint32_t> waiting{0};
	std::atomic<uint32_t> done{0};
	std::atomic<int32_t> tid{0};
	std::atomic<int64_t> t1{0};
	sem_t sem;
};

int handOffChild(HandOff &h)
{
	auto client = Client::connect(env->address());
	if (!client)
		return 1;
	auto lock = client->openLock("bench-handoff");
	if (!lock)
		return 2;
	h.tid = static_cast<int32_t>(gettid());
	uint32_t seen = 0;
	for (;;) {
		futexWaitWhile(h.round, seen);
		seen = h.round.load();
		if (h.kind == HandOff::Quit)
			return 0;
		h.waiting = seen;
		if (h.kind == HandOff::SemT) {
			sem_wait(&h.sem);
			h.t1 = nowNs();
		} else {
			auto guard = lock->acquire(LockMode::Exclusive, kForever);
			h.t1 = nowNs();
			if (!guard || !guard->release())
				return 3;
		}
		bump(h.done);
	}
}

// Both hand-offs alternately with the same pair of processes, so that both see the same
// load; the counters give both medians and their ratio.
void BM_HandOff(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto lock =
		client ? client->createLock("bench-handoff", {.openExisting = true, .fast = true})
		       : Result<Lock>(errorOf(client));
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	HandOff *h = sharedAnonymous<HandOff>();
	sem_init(&h->sem, 1, 0);
	const pid_t child = fork();
	if (child == 0)
		_exit(handOffChild(*h));
	while (h->tid.load() == 0)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));

	std::vector<double> semUs, fastUs;
	auto once = [&](HandOff::Kind kind) -> double {
		std::optional<LockGuard> held;
		if (kind == HandOff::FastLock) {
			auto guard = lock->acquire(LockMode::Exclusive, kForever);
			if (!guard)
				return -1;
			held.emplace(std::move(*guard));
		}
		const uint32_t done = h->done.load();
		h->kind = kind;
		bump(h->round);
		const uint32_t round = h->round.load();
		// Untimed: until the child sleeps on the object.
		while (h->waiting.load() != round || !asleepInFutex(child, h->tid.load()))
			std::this_thread::yield();
		// Past the spin into the kernel, where sem_wait's waiter is too.
		std::this_thread::sleep_for(std::chrono::microseconds(200));
		const int64_t t0 = nowNs();
		if (kind == HandOff::SemT)
			sem_post(&h->sem);
		else if (!held->release())
			return -1;
		futexWaitWhile(h->done, done);
		return static_cast<double>(h->t1.load() - t0) / 1e3;
	};
	for (auto _ : state) {
		const double semT = once(HandOff::SemT);
		const double fast = once(HandOff::FastLock);
		if (semT < 0 || fast < 0) {
			state.SkipWithError("hand-off failed");
			break;
		}
		semUs.push_back(semT);
		fastUs.push_back(fast);
		state.SetIterationTime(fast / 1e6);
	}
	h->kind = HandOff::Quit;
	bump(h->round);
	waitpid(child, nullptr, 0);
	state.counters["semt_p50_us"] = median(semUs);
	state.counters["fast_p50_us"] = median(fastUs);
	state.counters["ratio"] = median(fastUs) / median(semUs);
	sem_destroy(&h->sem);
	munmap(h, sizeof(HandOff));
}

// A holder process takes the fast lock and is SIGKILLed while a thread of this process
// waits for it: from the kill to that thread holding the lock (dbus-daemon tells ipchubd
// of the death, ipchubd takes the lock back and wakes the waiters).
void BM_KillToOwner(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto lock = client ? client->createLock("bench-kill", {.openExisting = true, .fast = true})
			   : Result<Lock>(errorOf(client));
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	auto *holding = sharedAnonymous<std::atomic<uint32_t>>();
	std::vector<double> us;
	int ownerDied = 0;
	for (auto _ : state) {
		holding->store(0);
		const pid_t holder = fork();
		if (holder == 0) {
			auto own = Client::connect(env->address());
			auto opened = own ? own->openLock("bench-kill")
					  : Result<Lock>(errorOf(own));
			auto guard = opened ? opened->acquire(LockMode::Exclusive, kForever)
					    : Result<LockGuard>(errorOf(opened));
			if (!guard)
				_exit(1);
			bump(*holding);
			pause();
			_exit(0);
		}
		futexWaitWhile(*holding, 0);
		std::atomic<int32_t> waiterTid{0};
		std::atomic<int64_t> t1{0};
		bool died = false;
		std::thread waiter([&] {
			waiterTid = static_cast<int32_t>(gettid());
			auto guard = lock->acquire(LockMode::Exclusive, std::chrono::seconds(10));
			t1 = nowNs();
			if (guard) {
				died = guard->previousOwnerDied();
				(void)guard->release();
			} else {
				t1 = -1;
			}
		});
		while (waiterTid.load() == 0 || !asleepInFutex(getpid(), waiterTid.load()))
			std::this_thread::yield();
		const int64_t t0 = nowNs();
		kill(holder, SIGKILL);
		waiter.join();
		waitpid(holder, nullptr, 0);
		if (t1.load() < 0) {
			state.SkipWithError("the waiter did not get the lock");
			break;
		}
		ownerDied += died;
		const double took = static_cast<double>(t1.load() - t0) / 1e3;
		us.push_back(took);
		state.SetIterationTime(took / 1e6);
	}
	state.counters["p50_us"] = median(us);
	state.counters["p90_us"] = percentile(us, 0.9);
	state.counters["max_us"] = us.empty() ? 0 : *std::max_element(us.begin(), us.end());
	state.counters["owner_died_reported"] = ownerDied;
	munmap(holding, sizeof(std::atomic<uint32_t>));
}

BENCHMARK(BM_SemTPair);
BENCHMARK(BM_FastSemaphorePair);
BENCHMARK(BM_FastSemaphoreGuardPair);
BENCHMARK(BM_FastLockPair);
BENCHMARK(BM_BareRoundTrip)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HandOff)->Iterations(1000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KillToOwner)->Iterations(60)->UseManualTime()->Unit(benchmark::kMicrosecond);

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	ipchub::bench::BenchEnv env;
	ipchub::bench::env = &env;
	return ipchub::bench::runWithRatios(
		argc, argv,
		{{"libipchub fast semaphore acquire+release / sem_wait+sem_post",
		  "BM_FastSemaphorePair", "BM_SemTPair"},
		 {"libipchub fast semaphore guard acquire+release / sem_wait+sem_post",
		  "BM_FastSemaphoreGuardPair", "BM_SemTPair"},
		 {"libipchub fast exclusive lock+unlock / sem_wait+sem_post", "BM_FastLockPair",
		  "BM_SemTPair"},
		 {"hand-off between processes, libipchub fast lock / sem_t (p50, interleaved)",
		  "BM_HandOff:ratio", ""},
		 {"hand-off p50, sem_t, us", "BM_HandOff:semt_p50_us", ""},
		 {"hand-off p50, libipchub fast lock, us", "BM_HandOff:fast_p50_us", ""},
		 {"SIGKILL of a holder -> waiter holds, p50, us", "BM_KillToOwner:p50_us", ""},
		 {"SIGKILL of a holder -> waiter holds, p90, us", "BM_KillToOwner:p90_us", ""},
		 {"bare bus round trip, ns", "BM_BareRoundTrip", ""}});
}
