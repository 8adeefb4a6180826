// SPDX-License-Identifier: LGPL-2.1-or-later
// One Client used from several threads at once: waits that contend on the same objects
// all end, none hangs, and no unit or grant is lost.

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using ClientThreadsTest = IpchubTest;

// $IPCHUB_THREAD_PAIRS or the target count.
int pairsWanted()
{
	if (const char *text = std::getenv("IPCHUB_THREAD_PAIRS"))
		return std::atoi(text);
	return 100'000;
}

TEST_F(ClientThreadsTest, EightThreadsShareOneClientWithoutLosingAUnit)
{
	constexpr int kThreads = 8;
	constexpr uint32_t kUnits = 2;
	const int pairs = pairsWanted();
	auto client = connect();
	std::vector<Semaphore> semaphores;
	for (int i = 0; i < 3; ++i) {
		auto semaphore = client.createSemaphore("units-" + std::to_string(i), kUnits);
		ASSERT_TRUE(semaphore) << semaphore.error().message;
		semaphores.push_back(std::move(*semaphore));
	}
	std::vector<Lock> locks;
	for (int i = 0; i < 2; ++i) {
		auto lock = client.createLock("lock-" + std::to_string(i));
		ASSERT_TRUE(lock) << lock.error().message;
		locks.push_back(std::move(*lock));
	}

	// Holders counted here: more than kUnits on a semaphore, or two on a lock, would be
	// a grant the service did not make.
	std::atomic<int> inSemaphore[3] = {};
	std::atomic<int> inLock[2] = {};
	std::atomic<int> next{0};
	std::atomic<int> failures{0};
	std::atomic<int> violations{0};
	std::string firstError;
	std::mutex errorMutex;
	auto record = [&](const Error &error) {
		std::lock_guard<std::mutex> lock(errorMutex);
		if (failures++ == 0)
			firstError = error.message;
	};
	const auto start = std::chrono::steady_clock::now();
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&] {
			for (int pair = next++; pair < pairs; pair = next++) {
				const int object = pair % 5;
				if (object < 3) {
					Semaphore &semaphore = semaphores[object];
					if (auto acquired = semaphore.acquire(1, 30s); !acquired) {
						record(acquired.error());
						continue;
					}
					if (++inSemaphore[object] > static_cast<int>(kUnits))
						++violations;
					--inSemaphore[object];
					if (auto released = semaphore.release(1); !released)
						record(released.error());
				} else {
					auto guard =
						locks[object - 3].acquire(LockMode::Exclusive, 30s);
					if (!guard) {
						record(guard.error());
						continue;
					}
					if (++inLock[object - 3] > 1)
						++violations;
					--inLock[object - 3];
					if (auto released = guard->release(); !released)
						record(released.error());
				}
			}
		});
	for (auto &thread : threads)
		thread.join();
	const auto seconds =
		std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	std::printf("# %d acquire/release pairs from %d threads on one Client in %.1f s "
		    "(%.0f pairs/s)\n",
		    pairs, kThreads, seconds, pairs / seconds);
	EXPECT_EQ(failures.load(), 0) << firstError;
	EXPECT_EQ(violations.load(), 0);

	// Everything is back, as the service sees it through another connection.
	auto observer = connect();
	for (int i = 0; i < 3; ++i) {
		auto status = observer.status(ObjectKind::Semaphore, "units-" + std::to_string(i));
		ASSERT_TRUE(status) << status.error().message;
		EXPECT_EQ(*status->property("Value"), std::to_string(kUnits));
		EXPECT_EQ(*status->property("Holders"), "");
		EXPECT_EQ(*status->property("Waiters"), "0");
	}
	for (int i = 0; i < 2; ++i) {
		auto status = observer.status(ObjectKind::Lock, "lock-" + std::to_string(i));
		ASSERT_TRUE(status) << status.error().message;
		EXPECT_EQ(*status->property("Mode"), "unlocked");
		EXPECT_EQ(*status->property("Holders"), "");
		EXPECT_EQ(*status->property("Waiters"), "0");
	}
}

} // namespace
} // namespace ipchub::test
