// SPDX-License-Identifier: LGPL-2.1-or-later
// A fast lock's words in one process: every result of lock/unlock in exclusive and
// shared mode, timeouts, owner-died reporting, and exclusion between threads.

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fast_test_support.hpp"
#include "lock.hpp"
#include "recovery.hpp"

namespace ipchub::fast {
namespace {

using namespace std::chrono_literals;
using test::ServicePage;

constexpr uint32_t kA = makeToken(5, 1);
constexpr uint32_t kB = makeToken(6, 1);
constexpr uint32_t kC = makeToken(7, 2);

class FastLock : public ::testing::Test
{
protected:
	ServicePage page{pageSize(LockShape{4})};
	LockView view{page.mapping.address(), LockShape{4}};

	uint32_t word() const { return view.word().load(); }
};

TEST_F(FastLock, UncontendedLockRecordsTheTokenAndUnlockFreesIt)
{
	auto locked = lock(view, kA, Deadline::never());
	ASSERT_TRUE(locked);
	EXPECT_EQ(*locked, Acquired::Clean);
	EXPECT_EQ(word(), kA);
	ASSERT_TRUE(unlock(view, kA));
	EXPECT_EQ(word(), 0u);
}

TEST_F(FastLock, TryOnAHeldLockWouldBlock)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	auto tried = lock(view, kB, Deadline::none());
	ASSERT_FALSE(tried);
	EXPECT_EQ(tried.error().code, Errc::WouldBlock);
	EXPECT_EQ(word(), kA);
}

TEST_F(FastLock, TheSameThreadLockingAgainIsADeadlock)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	auto again = lock(view, kA, Deadline::never());
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, Errc::Deadlock);
	auto tried = lock(view, kA, Deadline::none());
	ASSERT_FALSE(tried);
	EXPECT_EQ(tried.error().code, Errc::Deadlock);
	EXPECT_EQ(word(), kA);
}

TEST_F(FastLock, UnlockFindingAnotherOwnerIsTakenBack)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	auto unlocked = unlock(view, kB);
	ASSERT_FALSE(unlocked);
	EXPECT_EQ(unlocked.error().code, Errc::TakenBack);
	EXPECT_EQ(word(), kA);

	ASSERT_TRUE(unlock(view, kA));
	auto twice = unlock(view, kA);
	ASSERT_FALSE(twice);
	EXPECT_EQ(twice.error().code, Errc::TakenBack);
}

TEST_F(FastLock, TimeoutIsHonouredAndLeavesTheHolder)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	const auto start = std::chrono::steady_clock::now();
	auto timed = lock(view, kB, Deadline::after(60ms));
	const auto took = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(timed);
	EXPECT_EQ(timed.error().code, Errc::Timeout);
	EXPECT_GE(took, 60ms);
	EXPECT_LT(took, 2s);
	// The waiter announced itself before sleeping: the holder's unlock will wake.
	EXPECT_EQ(word(), kA | kWaiters);
	ASSERT_TRUE(unlock(view, kA));
	EXPECT_EQ(word(), 0u);
}

void onSignal(int)
{
}

TEST_F(FastLock, SignalsDoNotStretchOrCutTheTimeout)
{
	struct sigaction action {
	};
	action.sa_handler = onSignal;
	// No SA_RESTART: the futex wait returns EINTR on each signal.
	ASSERT_EQ(sigaction(SIGUSR1, &action, nullptr), 0);
	ASSERT_TRUE(lock(view, kA, Deadline::never()));

	std::atomic<bool> started{false};
	std::atomic<bool> done{false};
	std::chrono::steady_clock::duration took{};
	Errc code = Errc::System;
	std::thread waiter([&] {
		started = true;
		const auto start = std::chrono::steady_clock::now();
		auto timed = lock(view, kB, Deadline::after(150ms));
		took = std::chrono::steady_clock::now() - start;
		code = timed ? Errc::System : timed.error().code;
		done = true;
	});
	ASSERT_TRUE(test::waitFor([&] { return started.load(); }));
	int signals = 0;
	while (!done) {
		std::this_thread::sleep_for(5ms);
		if (!done && pthread_kill(waiter.native_handle(), SIGUSR1) == 0)
			++signals;
	}
	waiter.join();
	signal(SIGUSR1, SIG_DFL);
	EXPECT_GT(signals, 5);
	EXPECT_EQ(code, Errc::Timeout);
	EXPECT_GE(took, 150ms);
	EXPECT_LT(took, 2s);
}

TEST_F(FastLock, ASleepingWaiterGetsTheLockOnUnlock)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	std::atomic<int> got{-1};
	std::thread waiter([&] {
		auto locked = lock(view, kB, Deadline::after(10s));
		got = locked ? 1 : 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return (word() & kWaiters) != 0; }));
	ASSERT_TRUE(unlock(view, kA));
	waiter.join();
	EXPECT_EQ(got, 1);
	// It slept, so it keeps WAITERS: another sleeper may still be there.
	EXPECT_EQ(word(), kB | kWaiters);
	ASSERT_TRUE(unlock(view, kB));
	EXPECT_EQ(word(), 0u);
}

TEST_F(FastLock, TakingADiedWordReportsOwnerDied)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	const Recovered done = recoverLock(view, 5);
	EXPECT_EQ(done.locks, 1u);
	EXPECT_EQ(word(), kDied);

	auto locked = lock(view, kB, Deadline::never());
	ASSERT_TRUE(locked);
	EXPECT_EQ(*locked, Acquired::OwnerDied);
	EXPECT_EQ(word(), kB);
	// The dead owner's late unlock is refused.
	auto late = unlock(view, kA);
	ASSERT_FALSE(late);
	EXPECT_EQ(late.error().code, Errc::TakenBack);
	ASSERT_TRUE(unlock(view, kB));
	auto clean = lock(view, kB, Deadline::none());
	ASSERT_TRUE(clean);
	EXPECT_EQ(*clean, Acquired::Clean);
}

TEST_F(FastLock, ReadersShareAndExcludeWriters)
{
	auto first = lockShared(view, kA, Deadline::never());
	auto second = lockShared(view, kB, Deadline::none());
	ASSERT_TRUE(first);
	ASSERT_TRUE(second);
	EXPECT_EQ(*first, Acquired::Clean);
	EXPECT_TRUE(word() & kShared);

	auto writer = lock(view, kC, Deadline::none());
	ASSERT_FALSE(writer);
	EXPECT_EQ(writer.error().code, Errc::WouldBlock);

	ASSERT_TRUE(unlockShared(view, kA));
	EXPECT_TRUE(word() & kShared);
	ASSERT_TRUE(unlockShared(view, kB));
	EXPECT_EQ(word(), 0u);
	for (uint32_t i = 0; i < view.readerSlots(); ++i)
		EXPECT_EQ(view.reader(i).load(), 0u);
	ASSERT_TRUE(lock(view, kC, Deadline::none()));
}

TEST_F(FastLock, SharedModeDeadlocksAndTakenBack)
{
	ASSERT_TRUE(lockShared(view, kA, Deadline::never()));
	auto again = lockShared(view, kA, Deadline::never());
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, Errc::Deadlock);
	auto upgrade = lock(view, kA, Deadline::never());
	ASSERT_FALSE(upgrade);
	EXPECT_EQ(upgrade.error().code, Errc::Deadlock);
	auto stranger = unlockShared(view, kB);
	ASSERT_FALSE(stranger);
	EXPECT_EQ(stranger.error().code, Errc::TakenBack);
	ASSERT_TRUE(unlockShared(view, kA));

	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	auto downgrade = lockShared(view, kA, Deadline::never());
	ASSERT_FALSE(downgrade);
	EXPECT_EQ(downgrade.error().code, Errc::Deadlock);
	// The refused reader gave its slot back.
	for (uint32_t i = 0; i < view.readerSlots(); ++i)
		EXPECT_EQ(view.reader(i).load(), 0u);
}

TEST_F(FastLock, ReaderSlotsAreBounded)
{
	ServicePage small{pageSize(LockShape{2})};
	LockView two{small.mapping.address(), LockShape{2}};
	ASSERT_TRUE(lockShared(two, kA, Deadline::none()));
	ASSERT_TRUE(lockShared(two, kB, Deadline::none()));
	auto third = lockShared(two, kC, Deadline::never());
	ASSERT_FALSE(third);
	EXPECT_EQ(third.error().code, Errc::Exhausted);
	ASSERT_TRUE(unlockShared(two, kA));
	ASSERT_TRUE(lockShared(two, kC, Deadline::none()));
}

TEST_F(FastLock, AReaderTimesOutBehindAWriterAndGivesItsSlotBack)
{
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	auto timed = lockShared(view, kB, Deadline::after(30ms));
	ASSERT_FALSE(timed);
	EXPECT_EQ(timed.error().code, Errc::Timeout);
	for (uint32_t i = 0; i < view.readerSlots(); ++i)
		EXPECT_EQ(view.reader(i).load(), 0u);
	ASSERT_TRUE(unlock(view, kA));
	EXPECT_EQ(word(), 0u);
}

TEST_F(FastLock, AWriterSleepingBehindReadersGetsInWhenTheLastLeaves)
{
	ASSERT_TRUE(lockShared(view, kA, Deadline::never()));
	ASSERT_TRUE(lockShared(view, kB, Deadline::never()));
	std::atomic<int> got{-1};
	std::thread writer([&] { got = lock(view, kC, Deadline::after(10s)) ? 1 : 0; });
	ASSERT_TRUE(test::waitFor([&] { return (word() & kWaiters) != 0; }));
	ASSERT_TRUE(unlockShared(view, kA));
	std::this_thread::sleep_for(20ms);
	EXPECT_EQ(got, -1);
	ASSERT_TRUE(unlockShared(view, kB));
	writer.join();
	EXPECT_EQ(got, 1);
	EXPECT_EQ(word() & kTokenMask, kC);
}

TEST_F(FastLock, ADeadReaderIsGivenBackAndReported)
{
	ASSERT_TRUE(lockShared(view, kA, Deadline::never()));
	ASSERT_TRUE(lockShared(view, kB, Deadline::never()));
	const Recovered done = recoverLock(view, 5);
	EXPECT_EQ(done.readers, 1u);
	EXPECT_EQ(done.locks, 0u);
	// A live reader is still in: the word stays SHARED, now marked DIED.
	EXPECT_EQ(word() & (kShared | kDied), kShared | kDied);
	auto late = unlockShared(view, kA);
	ASSERT_FALSE(late);
	EXPECT_EQ(late.error().code, Errc::TakenBack);
	ASSERT_TRUE(unlockShared(view, kB));
	EXPECT_EQ(word(), kDied);
	auto writer = lock(view, kC, Deadline::none());
	ASSERT_TRUE(writer);
	EXPECT_EQ(*writer, Acquired::OwnerDied);
}

TEST_F(FastLock, TheOnlyReaderDyingFreesTheWord)
{
	ASSERT_TRUE(lockShared(view, kA, Deadline::never()));
	recoverLock(view, 5);
	EXPECT_EQ(word(), kDied);
	auto reader = lockShared(view, kB, Deadline::none());
	ASSERT_TRUE(reader);
	EXPECT_EQ(*reader, Acquired::OwnerDied);
}

TEST_F(FastLock, ThreadsExcludeEachOther)
{
	constexpr int kThreads = 4;
	constexpr int kRounds = 20000;
	uint64_t counter = 0;
	std::atomic<int> inside{0};
	std::atomic<int> violations{0};
	std::atomic<int> errors{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			const uint32_t token = makeToken(10 + t, t);
			for (int i = 0; i < kRounds; ++i) {
				if (!lock(view, token, Deadline::after(10s))) {
					errors++;
					continue;
				}
				if (inside.fetch_add(1) != 0)
					violations++;
				// Not atomic: only the lock keeps the increments apart.
				counter = counter + 1;
				inside.fetch_sub(1);
				if (!unlock(view, token))
					errors++;
			}
		});
	for (auto &thread : threads)
		thread.join();
	EXPECT_EQ(violations, 0);
	EXPECT_EQ(errors, 0);
	EXPECT_EQ(counter, uint64_t(kThreads) * kRounds);
	EXPECT_EQ(word(), 0u);
}

TEST_F(FastLock, ReadersAndWritersKeepTheInvariant)
{
	// Writers keep a == b; readers must never see them differ.
	struct Pair {
		std::atomic<uint64_t> a{0};
		std::atomic<uint64_t> b{0};
	} pair;
	std::atomic<int> torn{0};
	std::atomic<int> errors{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			const uint32_t token = makeToken(20 + t, t);
			const bool writer = t < 2;
			for (int i = 0; i < 5000; ++i) {
				if (writer) {
					if (!lock(view, token, Deadline::after(10s))) {
						errors++;
						continue;
					}
					pair.a.fetch_add(1);
					std::this_thread::yield();
					pair.b.fetch_add(1);
					if (!unlock(view, token))
						errors++;
				} else {
					if (!lockShared(view, token, Deadline::after(10s))) {
						errors++;
						continue;
					}
					if (pair.a.load() != pair.b.load())
						torn++;
					if (!unlockShared(view, token))
						errors++;
				}
			}
		});
	for (auto &thread : threads)
		thread.join();
	EXPECT_EQ(torn, 0);
	EXPECT_EQ(errors, 0);
	EXPECT_EQ(pair.a.load(), 10000u);
	EXPECT_EQ(word(), 0u);
}

TEST(FastLockLayout, TokenCounterHasItsOwnCacheLine)
{
	constexpr LockShape shape{4};
	ServicePage page{pageSize(shape)};
	LockView view{page.mapping.address(), shape};
	view.token().fetch_add(1);
	EXPECT_EQ(view.word().load(), 0u);
	for (uint32_t i = 0; i < view.readerSlots(); ++i)
		EXPECT_EQ(view.reader(i).load(), 0u);
	const auto *base = static_cast<const std::byte *>(page.mapping.address());
	EXPECT_EQ(reinterpret_cast<const std::byte *>(&view.token()) - base,
		  static_cast<ptrdiff_t>(kCacheLine));
	EXPECT_GE(reinterpret_cast<const std::byte *>(&view.reader(0)) - base,
		  static_cast<ptrdiff_t>(2 * kCacheLine));
	EXPECT_LE(reinterpret_cast<const std::byte *>(&view.reader(3) + 1) - base,
		  static_cast<ptrdiff_t>(pageSize(shape)));
}

} // namespace
} // namespace ipchub::fast
