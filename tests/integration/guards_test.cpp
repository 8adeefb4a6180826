// SPDX-License-Identifier: LGPL-2.1-or-later
// SemaphoreGuard through the real ipchubd, and timeouts given as any std::chrono
// duration or as a deadline on any clock.

#include <thread>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using GuardsTest = IpchubTest;
using Clock = std::chrono::steady_clock;

static_assert(Timeout(std::chrono::nanoseconds(1500)).duration() == 2us,
	      "rounded up: a wait never ends before its limit");
static_assert(Timeout(-5s).duration() == 0us, "a negative timeout tries once");
static_assert(Timeout(std::chrono::hours::max()).isForever(),
	      "longer than microseconds can count is no limit, not an overflow");
static_assert(Timeout(std::chrono::duration<double>(0.25)).duration() == 250'000us);

TEST_F(GuardsTest, SemaphoreGuardReleasesItsUnitsWhenItGoes)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3);
	ASSERT_TRUE(semaphore);
	{
		auto guard = semaphore->acquireGuard(2, 1s);
		ASSERT_TRUE(guard) << guard.error().message;
		EXPECT_EQ(guard->units(), 2u);
		EXPECT_EQ(semaphore->value().value_or(9), 1u);
		SemaphoreGuard moved = std::move(*guard);
		EXPECT_EQ(guard->units(), 0u);
		EXPECT_EQ(moved.units(), 2u);
	}
	EXPECT_EQ(semaphore->value().value_or(9), 3u);

	auto guard = semaphore->acquireGuard(1, 0us);
	ASSERT_TRUE(guard);
	ASSERT_TRUE(guard->release());
	EXPECT_EQ(guard->units(), 0u);
	EXPECT_EQ(semaphore->value().value_or(9), 3u);

	// Failing to acquire gives no guard.
	auto tooMany = semaphore->acquireGuard(4, 0us);
	ASSERT_FALSE(tooMany);
	EXPECT_EQ(tooMany.error().code, ErrorCode::WouldBlock);
}

TEST_F(GuardsTest, ADismissedGuardLeavesItsUnitsHeld)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	{
		auto guard = semaphore->acquireGuard(1);
		ASSERT_TRUE(guard);
		EXPECT_EQ(guard->dismiss(), 1u);
	}
	EXPECT_EQ(semaphore->value().value_or(9), 1u);
	auto holders = semaphore->holders();
	ASSERT_TRUE(holders);
	ASSERT_EQ(holders->size(), 1u);
	EXPECT_EQ(holders->front().units, 1u);
}

TEST_F(GuardsTest, TimeoutsTakeAnyDurationAndDeadlines)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);

	auto start = Clock::now();
	auto acquired = semaphore->acquire(1, std::chrono::duration<double>(0.2));
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Timeout) << acquired.error().message;
	EXPECT_GE(Clock::now() - start, 200ms);

	start = Clock::now();
	acquired = semaphore->acquire(1, start + 200ms);
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Timeout) << acquired.error().message;
	EXPECT_GE(Clock::now() - start, 200ms);

	// A deadline that has passed tries once.
	acquired = semaphore->acquire(1, std::chrono::system_clock::now() - 1s);
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::WouldBlock) << acquired.error().message;

	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	auto held = lock->acquire(LockMode::Exclusive, std::chrono::system_clock::now() + 1s);
	ASSERT_TRUE(held) << held.error().message;
	auto other = connect().openLock("db");
	ASSERT_TRUE(other);
	start = Clock::now();
	auto blocked = other->acquire(LockMode::Shared, std::chrono::milliseconds(150));
	ASSERT_FALSE(blocked);
	EXPECT_EQ(blocked.error().code, ErrorCode::Timeout);
	EXPECT_GE(Clock::now() - start, 150ms);

	// A duration too long to count waits without limit, until served.
	auto waiter = connect();
	auto waiting = waiter.openSemaphore("jobs");
	ASSERT_TRUE(waiting);
	Result<void> served = fail(ErrorCode::Failed, "not run");
	std::thread thread([&] { served = waiting->acquire(1, std::chrono::hours::max()); });
	EXPECT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	ASSERT_TRUE(semaphore->release(1));
	thread.join();
	EXPECT_TRUE(served) << served.error().message;
}

} // namespace
} // namespace ipchub::test
