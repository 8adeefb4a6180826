// SPDX-License-Identifier: LGPL-2.1-or-later
// Chaos: worker processes, each the first process of its own PID namespace (so their
// threads have the same TIDs), take a fast lock and a fast semaphore in a loop from two
// threads each, and are SIGKILLed at random. The test stands in for ipchubd: it learns
// of each death by waitpid, recovers the dead owner id and starts a new worker under a
// new owner id. Each holder writes its token into shared memory on entry and checks it
// before leaving; a wait longer than kStall counts as a stranded waiter. The same run
// with recovery switched off must fail.
//
// IPCHUB_FAST_CHAOS_SECONDS sets the length of the run (default 2 s; 20 s is the long
// run).

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <sys/prctl.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fast_chaos_harness.hpp"
#include "fast_test_support.hpp"
#include "ids.hpp"
#include "lock.hpp"
#include "recovery.hpp"
#include "semaphore.hpp"

namespace ipchub::fast {
namespace {

using namespace std::chrono_literals;
using test::ServicePage;

constexpr uint32_t kWorkers = 4;
constexpr uint32_t kThreads = 2;
constexpr uint32_t kUnits = 3;
// Far beyond any hold (microseconds) and any recovery (a waitpid away).
constexpr auto kStall = 2s;
constexpr LockShape kLockShape{8};
constexpr SemaphoreShape kSemShape{kUnits, kWorkers};

struct Shared {
	std::atomic<bool> stop{false};
	std::atomic<uint32_t> lockFence{0};
	std::atomic<uint32_t> unitFence[kUnits]{};
	std::atomic<uint32_t> holding[kWorkers]{};
	std::atomic<uint64_t> lockAcquisitions{0};
	std::atomic<uint64_t> unitAcquisitions{0};
	std::atomic<uint64_t> violations{0};
	std::atomic<uint64_t> stalls{0};
	std::atomic<uint64_t> failedReleases{0};
	std::atomic<uint64_t> ownerDied{0};
};

struct Outcome {
	uint64_t lockAcquisitions = 0;
	uint64_t unitAcquisitions = 0;
	uint64_t violations = 0;
	uint64_t stalls = 0;
	uint64_t failedReleases = 0;
	uint64_t ownerDied = 0;
	uint64_t kills = 0;
	uint64_t killsWhileHolding = 0;
	uint64_t locksTakenBack = 0;
	uint64_t unitsTakenBack = 0;
	uint64_t strandedAtEnd = 0;
	uint64_t unexpectedExits = 0;
	bool lockFreeAtEnd = false;
	uint32_t unitsBackAtEnd = 0;
	uint32_t nwaitAtEnd = 0;

	bool passed() const
	{
		return violations == 0 && stalls == 0 && failedReleases == 0 &&
		       strandedAtEnd == 0 && unexpectedExits == 0 && lockFreeAtEnd &&
		       unitsBackAtEnd == kUnits && nwaitAtEnd == 0;
	}

	void print(const char *name) const
	{
		std::fprintf(stderr,
			     "%s: %llu lock and %llu unit acquisitions, %llu kills (%llu while "
			     "holding), %llu locks and %llu units taken back, %llu owner-died "
			     "reports; %llu violations, %llu stalls, %llu failed releases, %llu "
			     "stranded at the end, %llu unexpected exits; lock %s, %u/%u units "
			     "back, nwait %u\n",
			     name, (unsigned long long)lockAcquisitions,
			     (unsigned long long)unitAcquisitions, (unsigned long long)kills,
			     (unsigned long long)killsWhileHolding,
			     (unsigned long long)locksTakenBack, (unsigned long long)unitsTakenBack,
			     (unsigned long long)ownerDied, (unsigned long long)violations,
			     (unsigned long long)stalls, (unsigned long long)failedReleases,
			     (unsigned long long)strandedAtEnd, (unsigned long long)unexpectedExits,
			     lockFreeAtEnd ? "free" : "held", unitsBackAtEnd, kUnits, nwaitAtEnd);
	}
};

void workerThread(Shared &shared, const LockView &lock, const SemaphoreView &sem, uint32_t owner,
		  uint32_t worker, uint32_t bit)
{
	auto slot = currentThreadSlot();
	if (!slot)
		_exit(3);
	const uint32_t token = makeToken(owner, *slot);
	Holder holder{token, worker};
	while (!shared.stop.load(std::memory_order_relaxed)) {
		auto locked = fast::lock(lock, token, Deadline::after(kStall));
		if (!locked) {
			if (locked.error().code == Errc::Timeout)
				shared.stalls++;
			else
				_exit(4);
		} else {
			shared.holding[worker] |= bit;
			if (*locked == Acquired::OwnerDied)
				shared.ownerDied++;
			if (!test::holdAndCheck(shared.lockFence, token))
				shared.violations++;
			shared.holding[worker] &= ~bit;
			if (!unlock(lock, token))
				shared.failedReleases++;
			shared.lockAcquisitions++;
		}

		auto unit = acquire(sem, holder, Deadline::after(kStall));
		if (!unit) {
			if (unit.error().code == Errc::Timeout)
				shared.stalls++;
			else
				_exit(5);
			continue;
		}
		shared.holding[worker] |= bit;
		if (unit->state == Acquired::OwnerDied)
			shared.ownerDied++;
		if (!test::holdAndCheck(shared.unitFence[unit->index], token))
			shared.violations++;
		shared.holding[worker] &= ~bit;
		if (!release(sem, unit->index, token))
			shared.failedReleases++;
		shared.unitAcquisitions++;
	}
}

int workerMain(Shared &shared, const ServicePage &lockPage, const ServicePage &semPage,
	       uint32_t owner, uint32_t worker)
{
	// Below the supervisor: its kills keep their pace on a busy machine.
	(void)!nice(10);
	// As the library maps: MADV_DONTFORK, descriptor closed after mmap.
	Mapping lockMap = lockPage.mapAsClient();
	Mapping semMap = semPage.mapAsClient();
	const LockView lock(lockMap.address(), kLockShape);
	const SemaphoreView sem(semMap.address(), kSemShape);
	std::vector<std::thread> threads;
	for (uint32_t t = 0; t < kThreads; ++t)
		threads.emplace_back(workerThread, std::ref(shared), std::cref(lock),
				     std::cref(sem), owner, worker, 1u << t);
	for (auto &thread : threads)
		thread.join();
	return 0;
}

class FastChaos : public ::testing::Test
{
protected:
	void SetUp() override
	{
		// The workers' parents exit at once: the workers become this process's.
		ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
		if (const std::string why = test::pidNamespacesUnavailable(); !why.empty())
			GTEST_SKIP() << why;
	}

	void TearDown() override { prctl(PR_SET_CHILD_SUBREAPER, 0); }

	Outcome run(bool recovery, uint64_t milliseconds)
	{
		ServicePage lockPage(pageSize(kLockShape));
		ServicePage semPage(pageSize(kSemShape));
		const LockView lock(lockPage.mapping.address(), kLockShape);
		const SemaphoreView sem(semPage.mapping.address(), kSemShape);
		test::SharedRecord<Shared> shared;
		OwnerIds owners;
		Outcome outcome;

		struct Worker {
			pid_t pid;
			uint32_t owner;
		};
		std::vector<Worker> workers(kWorkers);
		auto start = [&](uint32_t k) {
			const uint32_t owner = *owners.allocate();
			const pid_t pid = test::spawnInPidNamespace([&, owner, k] {
				return workerMain(*shared, lockPage, semPage, owner, k);
			});
			EXPECT_GT(pid, 0);
			workers[k] = Worker{pid, owner};
		};
		for (uint32_t k = 0; k < kWorkers; ++k)
			start(k);

		std::mt19937 random(std::random_device{}());
		const auto end =
			std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
		while (std::chrono::steady_clock::now() < end ||
		       (!recovery && outcome.killsWhileHolding == 0 &&
			std::chrono::steady_clock::now() < end + 10s)) {
			std::this_thread::sleep_for(std::chrono::milliseconds(3 + random() % 13));
			const uint32_t k = random() % kWorkers;
			if (shared->holding[k].load() != 0)
				outcome.killsWhileHolding++;
			kill(workers[k].pid, SIGKILL);
			int status = 0;
			// The death as ipchubd learns of it: after this the process is gone and
			// can no longer write the page.
			waitpid(workers[k].pid, &status, 0);
			if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
				outcome.unexpectedExits++;
			outcome.kills++;
			if (recovery) {
				outcome.locksTakenBack += recoverLock(lock, workers[k].owner).locks;
				outcome.unitsTakenBack +=
					recoverSemaphore(sem, workers[k].owner, k).units;
			}
			owners.release(workers[k].owner);
			start(k);
		}

		shared->stop = true;
		for (const Worker &worker : workers) {
			// A worker ends within one stall timeout; longer, it is stranded.
			const int code = test::reap(worker.pid, kStall + 3s);
			if (code == -1)
				outcome.strandedAtEnd++;
			else if (code != 0)
				outcome.unexpectedExits++;
		}

		outcome.lockAcquisitions = shared->lockAcquisitions;
		outcome.unitAcquisitions = shared->unitAcquisitions;
		outcome.violations = shared->violations;
		outcome.stalls = shared->stalls;
		outcome.failedReleases = shared->failedReleases;
		outcome.ownerDied = shared->ownerDied;
		outcome.lockFreeAtEnd = (lock.word().load() & kTokenMask) == 0;
		outcome.unitsBackAtEnd = freeUnits(sem);
		outcome.nwaitAtEnd = sem.nwait().load();
		return outcome;
	}
};

TEST_F(FastChaos, KilledHoldersAcrossPidNamespacesAreRecovered)
{
	const Outcome outcome = run(true, test::chaosMilliseconds(2.0));
	outcome.print("with recovery");
	EXPECT_GT(outcome.kills, 0u);
	EXPECT_GT(outcome.lockAcquisitions, 0u);
	EXPECT_GT(outcome.unitAcquisitions, 0u);
	EXPECT_EQ(outcome.violations, 0u);
	EXPECT_EQ(outcome.stalls, 0u);
	EXPECT_EQ(outcome.failedReleases, 0u);
	EXPECT_EQ(outcome.strandedAtEnd, 0u);
	EXPECT_EQ(outcome.unexpectedExits, 0u);
	EXPECT_TRUE(outcome.lockFreeAtEnd);
	EXPECT_EQ(outcome.unitsBackAtEnd, kUnits);
	EXPECT_EQ(outcome.nwaitAtEnd, 0u);
	EXPECT_TRUE(outcome.passed());
}

// The run is able to fail: without recovery, a holder killed inside keeps its hold.
TEST_F(FastChaos, WithoutRecoveryTheSameRunFails)
{
	const Outcome outcome = run(false, 1000);
	outcome.print("without recovery");
	ASSERT_GT(outcome.killsWhileHolding, 0u) << "no holder was killed inside";
	EXPECT_FALSE(outcome.passed());
}

} // namespace
} // namespace ipchub::fast
