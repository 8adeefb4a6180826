// SPDX-License-Identifier: LGPL-2.1-or-later
// A fast semaphore's words in one process: units recording their holders, every error
// of acquire/release, timeouts, waiter counts, owner-died reporting, threads.

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fast_test_support.hpp"
#include "recovery.hpp"
#include "semaphore.hpp"

namespace ipchub::fast {
namespace {

using namespace std::chrono_literals;
using test::ServicePage;

constexpr uint32_t kA = makeToken(5, 1);
constexpr uint32_t kB = makeToken(6, 1);

class FastSemaphore : public ::testing::Test
{
protected:
	static constexpr SemaphoreShape kShape{3, 4};
	ServicePage page{pageSize(kShape)};
	SemaphoreView view{page.mapping.address(), kShape};
};

TEST_F(FastSemaphore, EachUnitRecordsItsHolderUntilNoneIsLeft)
{
	Holder a{kA, 0};
	std::set<uint32_t> held;
	for (int i = 0; i < 3; ++i) {
		auto unit = acquire(view, a, Deadline::none());
		ASSERT_TRUE(unit);
		EXPECT_EQ(unit->state, Acquired::Clean);
		EXPECT_EQ(view.unit(unit->index).load(), kA);
		held.insert(unit->index);
	}
	EXPECT_EQ(held.size(), 3u);
	EXPECT_EQ(freeUnits(view), 0u);
	auto none = acquire(view, a, Deadline::none());
	ASSERT_FALSE(none);
	EXPECT_EQ(none.error().code, Errc::WouldBlock);
	for (uint32_t index : held)
		ASSERT_TRUE(release(view, index, kA));
	EXPECT_EQ(freeUnits(view), 3u);
	EXPECT_EQ(view.nwait().load(), 0u);
}

TEST_F(FastSemaphore, ReleaseErrors)
{
	Holder a{kA, 0};
	auto unit = acquire(view, a, Deadline::none());
	ASSERT_TRUE(unit);
	auto wrong = release(view, unit->index, kB);
	ASSERT_FALSE(wrong);
	EXPECT_EQ(wrong.error().code, Errc::TakenBack);
	auto outside = release(view, 3, kA);
	ASSERT_FALSE(outside);
	EXPECT_EQ(outside.error().code, Errc::NotHeld);
	ASSERT_TRUE(release(view, unit->index, kA));
	auto twice = release(view, unit->index, kA);
	ASSERT_FALSE(twice);
	EXPECT_EQ(twice.error().code, Errc::TakenBack);
}

TEST_F(FastSemaphore, AnAttachSlotOutOfRangeIsRefusedBeforeWaiting)
{
	Holder a{kA, 0};
	for (int i = 0; i < 3; ++i)
		ASSERT_TRUE(acquire(view, a, Deadline::none()));
	Holder stranger{kB, 4};
	auto refused = acquire(view, stranger, Deadline::after(1s));
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, Errc::NotHeld);
	EXPECT_EQ(view.nwait().load(), 0u);
}

TEST_F(FastSemaphore, TimeoutIsHonouredAndTheWaiterCountsComeBack)
{
	Holder a{kA, 0};
	for (int i = 0; i < 3; ++i)
		ASSERT_TRUE(acquire(view, a, Deadline::none()));
	Holder b{kB, 1};
	const auto start = std::chrono::steady_clock::now();
	auto timed = acquire(view, b, Deadline::after(60ms));
	const auto took = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(timed);
	EXPECT_EQ(timed.error().code, Errc::Timeout);
	EXPECT_GE(took, 60ms);
	EXPECT_LT(took, 2s);
	EXPECT_EQ(view.nwait().load(), 0u);
	EXPECT_EQ(view.waiters(1).load(), 0u);
}

TEST_F(FastSemaphore, ASleepingWaiterGetsTheReleasedUnit)
{
	Holder a{kA, 0};
	std::vector<uint32_t> held;
	for (int i = 0; i < 3; ++i)
		held.push_back(acquire(view, a, Deadline::none())->index);
	std::atomic<int> got{-1};
	std::thread waiter([&] {
		Holder b{kB, 1};
		auto unit = acquire(view, b, Deadline::after(10s));
		got = unit ? static_cast<int>(unit->index) : -2;
	});
	ASSERT_TRUE(test::waitFor([&] { return view.nwait().load() == 1; }));
	EXPECT_EQ(view.waiters(1).load(), 1u);
	ASSERT_TRUE(release(view, held[1], kA));
	waiter.join();
	EXPECT_EQ(got, static_cast<int>(held[1]));
	EXPECT_EQ(view.unit(held[1]).load(), kB);
	EXPECT_EQ(view.nwait().load(), 0u);
	EXPECT_EQ(view.waiters(1).load(), 0u);
}

TEST_F(FastSemaphore, AUnitGivenBackByRecoveryReportsOwnerDied)
{
	Holder a{kA, 0};
	Holder b{kB, 1};
	for (int i = 0; i < 2; ++i)
		ASSERT_TRUE(acquire(view, a, Deadline::none()));
	auto bs = acquire(view, b, Deadline::none());
	ASSERT_TRUE(bs);
	const Recovered done = recoverSemaphore(view, 5, 0);
	EXPECT_EQ(done.units, 2u);
	EXPECT_EQ(view.unit(bs->index).load(), kB);
	EXPECT_EQ(freeUnits(view), 2u);
	for (int i = 0; i < 2; ++i) {
		auto unit = acquire(view, b, Deadline::none());
		ASSERT_TRUE(unit);
		EXPECT_EQ(unit->state, Acquired::OwnerDied);
	}
}

TEST_F(FastSemaphore, ManyUnitsAreUnpaddedAndStayInsideThePage)
{
	const SemaphoreShape shape{1000, 8};
	ServicePage big{pageSize(shape)};
	SemaphoreView many{big.mapping.address(), shape};
	EXPECT_EQ(many.unitStride(), sizeof(Word));
	EXPECT_LE(reinterpret_cast<std::byte *>(&many.unit(999)) + sizeof(Word),
		  static_cast<std::byte *>(big.mapping.address()) + big.mapping.size());
	Holder a{kA, 0};
	for (int i = 0; i < 1000; ++i)
		ASSERT_TRUE(acquire(many, a, Deadline::none()));
	EXPECT_FALSE(acquire(many, a, Deadline::none()));
	EXPECT_EQ(view.unitStride(), kCacheLine);
}

TEST_F(FastSemaphore, ThreadsNeverHoldMoreThanTheUnits)
{
	constexpr int kThreads = 6;
	std::atomic<int> inside{0};
	std::atomic<int> over{0};
	std::atomic<int> errors{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			Holder me{makeToken(10 + t, t), static_cast<uint32_t>(t % 4)};
			for (int i = 0; i < 10000; ++i) {
				auto unit = acquire(view, me, Deadline::after(10s));
				if (!unit) {
					errors++;
					continue;
				}
				if (inside.fetch_add(1) >= 3)
					over++;
				inside.fetch_sub(1);
				if (!release(view, unit->index, me.token))
					errors++;
			}
		});
	for (auto &thread : threads)
		thread.join();
	EXPECT_EQ(over, 0);
	EXPECT_EQ(errors, 0);
	EXPECT_EQ(freeUnits(view), 3u);
	EXPECT_EQ(view.nwait().load(), 0u);
	for (uint32_t i = 0; i < 4; ++i)
		EXPECT_EQ(view.waiters(i).load(), 0u);
}

TEST_F(FastSemaphore, AbsentUnitsAreNeitherFreeNorHeldUntilPosted)
{
	initUnits(view, 1);
	EXPECT_EQ(freeUnits(view), 1u);
	EXPECT_EQ(absentUnits(view), 2u);
	Holder a{kA, 0};
	auto first = acquire(view, a, Deadline::none());
	ASSERT_TRUE(first);
	auto none = acquire(view, a, Deadline::none());
	ASSERT_FALSE(none);
	EXPECT_EQ(none.error().code, Errc::WouldBlock);
	// An ABSENT unit records no owner: recovery leaves it alone.
	EXPECT_EQ(recoverSemaphore(view, 5, 0).units, 1u);
	EXPECT_EQ(absentUnits(view), 2u);
	ASSERT_TRUE(post(view));
	ASSERT_TRUE(post(view));
	auto full = post(view);
	ASSERT_FALSE(full);
	EXPECT_EQ(full.error().code, Errc::Exhausted);
	EXPECT_EQ(freeUnits(view), 3u);
}

TEST_F(FastSemaphore, ConsumingAcquireLeavesTheUnitAbsent)
{
	Holder consumer{kAbsent, 0};
	auto unit = acquire(view, consumer, Deadline::none());
	ASSERT_TRUE(unit);
	EXPECT_EQ(view.unit(unit->index).load(), kAbsent);
	EXPECT_EQ(freeUnits(view), 2u);
	EXPECT_EQ(absentUnits(view), 1u);
}

TEST_F(FastSemaphore, PostWakesASleepingWaiter)
{
	initUnits(view, 0);
	std::atomic<bool> got{false};
	std::thread waiter([&] {
		Holder b{kB, 1};
		got = acquire(view, b, Deadline::after(10s)).has_value();
	});
	while (view.nwait().load() == 0)
		std::this_thread::yield();
	ASSERT_TRUE(post(view));
	waiter.join();
	EXPECT_TRUE(got);
}

} // namespace
} // namespace ipchub::fast
