// SPDX-License-Identifier: LGPL-2.1-or-later
// The fast objects' words against a POSIX semaphore in shared memory, measured in the
// same run: an uncontended lock+unlock and acquire+release against a sem_wait+sem_post
// pair, and a hand-off between two processes (the waiter asleep in the kernel, the
// holder releasing, until the waiter holds) against a sem_post to a process asleep in
// sem_wait. No bus: these are the costs under libipchub's fast path.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench_env.hpp"
#include "futex.hpp"
#include "lock.hpp"
#include "page.hpp"
#include "semaphore.hpp"

namespace ipchub::bench {
namespace {

using namespace ipchub::fast;

constexpr uint32_t kToken = makeToken(1, 1);
constexpr uint32_t kChildToken = makeToken(2, 1);
constexpr LockShape kLockShape{16};
constexpr SemaphoreShape kSemShape{3, 4};

// A page as ipchubd would create it, mapped as the library maps it.
struct FastPage {
	UniqueFd fd;
	size_t size;
	Mapping mapping;

	explicit FastPage(size_t bytes) : size(bytes)
	{
		auto created = createPage("fast-bench", size);
		if (!created)
			std::abort();
		fd = std::move(*created);
		mapping = mapClient();
	}

	Mapping mapClient() const
	{
		auto mapped = mapReceivedPage(UniqueFd(fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)), size);
		if (!mapped)
			std::abort();
		return std::move(*mapped);
	}
};

template <typename T>
T *sharedAnonymous()
{
	void *p =
		mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		std::abort();
	return new (p) T();
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

void BM_FastLockPair(benchmark::State &state)
{
	FastPage page(pageSize(kLockShape));
	const LockView view(page.mapping.address(), kLockShape);
	for (auto _ : state) {
		if (!lock(view, kToken, Deadline::never()) || !unlock(view, kToken)) {
			state.SkipWithError("lock or unlock failed");
			return;
		}
	}
}

void BM_FastSharedLockPair(benchmark::State &state)
{
	FastPage page(pageSize(kLockShape));
	const LockView view(page.mapping.address(), kLockShape);
	for (auto _ : state) {
		if (!lockShared(view, kToken, Deadline::never()) || !unlockShared(view, kToken)) {
			state.SkipWithError("lockShared or unlockShared failed");
			return;
		}
	}
}

void BM_FastSemaphorePair(benchmark::State &state)
{
	FastPage page(pageSize(kSemShape));
	const SemaphoreView view(page.mapping.address(), kSemShape);
	Holder holder{kToken, 0};
	for (auto _ : state) {
		auto unit = acquire(view, holder, Deadline::never());
		if (!unit || !release(view, unit->index, kToken)) {
			state.SkipWithError("acquire or release failed");
			return;
		}
	}
}

// The hand-off: a forked child waits, asleep, for the kind of object the parent names;
// the parent releases it at t0, the child notes t1 when it holds it.
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
	std::atomic<int64_t> t1{0};
	sem_t sem;
};

int64_t nowNs()
{
	return std::chrono::duration_cast<std::chrono::nanoseconds>(
		       std::chrono::steady_clock::now().time_since_epoch())
		.count();
}

void waitChange(Word &word, uint32_t seen)
{
	while (word.load() == seen)
		futexWait(word, seen, Deadline::never());
}

void bump(Word &word)
{
	word.fetch_add(1);
	futexWake(word, INT_MAX);
}

int handOffChild(HandOff &h, const FastPage &page)
{
	Mapping mapping = page.mapClient();
	const LockView view(mapping.address(), kLockShape);
	uint32_t seen = 0;
	for (;;) {
		waitChange(h.round, seen);
		seen = h.round.load();
		if (h.kind == HandOff::Quit)
			return 0;
		h.waiting = seen;
		if (h.kind == HandOff::SemT) {
			sem_wait(&h.sem);
			h.t1 = nowNs();
		} else {
			if (!lock(view, kChildToken, Deadline::never()))
				return 1;
			h.t1 = nowNs();
			if (!unlock(view, kChildToken))
				return 2;
		}
		bump(h.done);
	}
}

// Whether the process sleeps in a futex call (/proc/PID/syscall: its number first).
bool asleepInFutex(pid_t pid)
{
	char path[64];
	std::snprintf(path, sizeof path, "/proc/%d/syscall", pid);
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

// Both hand-offs alternately with the same pair of processes, so that both see the same
// load; the benchmark's time is the fast lock's, the counters give both medians and
// their ratio.
void BM_HandOff(benchmark::State &state)
{
	HandOff *h = sharedAnonymous<HandOff>();
	sem_init(&h->sem, 1, 0);
	FastPage page(pageSize(kLockShape));
	const LockView view(page.mapping.address(), kLockShape);
	const pid_t child = fork();
	if (child == 0)
		_exit(handOffChild(*h, page));

	std::vector<double> semUs, fastUs;
	auto once = [&](HandOff::Kind kind) -> double {
		if (kind == HandOff::FastLock && !lock(view, kToken, Deadline::never()))
			return -1;
		const uint32_t done = h->done.load();
		h->kind = kind;
		bump(h->round);
		const uint32_t round = h->round.load();
		// Untimed: until the child sleeps on the object.
		while (h->waiting.load() != round ||
		       (kind == HandOff::FastLock && !(view.word().load() & kWaiters)) ||
		       !asleepInFutex(child))
			std::this_thread::yield();
		const int64_t t0 = nowNs();
		if (kind == HandOff::SemT)
			sem_post(&h->sem);
		else if (!unlock(view, kToken))
			return -1;
		waitChange(h->done, done);
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

BENCHMARK(BM_SemTPair);
BENCHMARK(BM_FastLockPair);
BENCHMARK(BM_FastSharedLockPair);
BENCHMARK(BM_FastSemaphorePair);
BENCHMARK(BM_HandOff)->Iterations(2000)->UseManualTime()->Unit(benchmark::kMicrosecond);

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	return ipchub::bench::runWithRatios(
		argc, argv,
		{{"fast lock+unlock / sem_wait+sem_post", "BM_FastLockPair", "BM_SemTPair"},
		 {"fast shared lock+unlock / sem_wait+sem_post", "BM_FastSharedLockPair",
		  "BM_SemTPair"},
		 {"fast semaphore acquire+release (3 units) / sem_wait+sem_post",
		  "BM_FastSemaphorePair", "BM_SemTPair"},
		 {"hand-off between processes, fast lock / sem_t (p50, interleaved)",
		  "BM_HandOff:ratio", ""},
		 {"hand-off p50, sem_t, us", "BM_HandOff:semt_p50_us", ""},
		 {"hand-off p50, fast lock, us", "BM_HandOff:fast_p50_us", ""}});
}
