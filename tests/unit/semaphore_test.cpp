// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/semaphore.hpp"
#include "recording_observer.hpp"

namespace ipchub::core {
namespace {

class SemaphoreCore : public ::testing::Test
{
protected:
	std::unique_ptr<Semaphore> make(uint32_t initial, SemaphoreOptions options = {})
	{
		EXPECT_TRUE(Semaphore::check(initial, options));
		return std::make_unique<Semaphore>(ObjectInfo{{"", "jobs"}, {}}, initial, options,
						   quota);
	}

	// A completion that records "name" or "name:<error>" in log.
	Completion record(const std::string &name)
	{
		return [this, name](Result<void> outcome) {
			log.push_back(outcome ? name
					      : name + ":" +
							std::string(errorCodeName(outcome.error().code)));
		};
	}

	Limits limits;
	Quota quota{limits};
	std::vector<std::string> log;
};

TEST_F(SemaphoreCore, GrantsAtOnceWhenFreeAndQueuesOtherwise)
{
	auto sem = make(3);
	auto now = sem->acquire(":1.1", 2, record("a"));
	ASSERT_TRUE(now);
	EXPECT_FALSE(now->has_value());
	EXPECT_EQ(sem->value(), 1u);
	EXPECT_EQ(sem->heldBy(":1.1"), 2u);

	auto later = sem->acquire(":1.2", 2, record("b"));
	ASSERT_TRUE(later);
	EXPECT_TRUE(later->has_value());
	EXPECT_EQ(sem->waiters(), 1u);
	EXPECT_TRUE(log.empty());

	ASSERT_TRUE(sem->release(":1.1", 2));
	EXPECT_EQ(log, std::vector<std::string>{"b"});
	EXPECT_EQ(sem->value(), 1u);
	EXPECT_EQ(sem->heldBy(":1.2"), 2u);
}

TEST_F(SemaphoreCore, FifoWithMixedSizesHoldsSmallWaitsBehindABigHead)
{
	auto sem = make(0);
	ASSERT_TRUE(sem->acquire(":1.1", 3, record("big")));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("small")));
	// One free unit would fit "small", but "big" is first.
	ASSERT_TRUE(sem->release(":1.9", 1));
	EXPECT_TRUE(log.empty());
	auto tryNow = sem->tryAcquire(":1.3", 1);
	ASSERT_TRUE(tryNow);
	EXPECT_FALSE(*tryNow) << "TryAcquire must not jump the queue";
	ASSERT_TRUE(sem->release(":1.9", 3));
	EXPECT_EQ(log, (std::vector<std::string>{"big", "small"}));
	EXPECT_EQ(sem->value(), 0u);
}

TEST_F(SemaphoreCore, TimedOutHeadLetsTheNextWaitersThrough)
{
	auto sem = make(2);
	ASSERT_TRUE(sem->acquire(":1.0", 2, record("first")));
	auto big = sem->acquire(":1.1", 2, record("big"));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("small")));
	ASSERT_TRUE(sem->release(":1.0", 1));
	EXPECT_TRUE(log.empty());
	sem->cancelWait(**big, {ErrorCode::Timeout, "timed out"});
	EXPECT_EQ(log, (std::vector<std::string>{"small", "big:Timeout"}));
	// Cancelling again does nothing.
	sem->cancelWait(**big, {ErrorCode::Timeout, "timed out"});
	EXPECT_EQ(log.size(), 2u);
}

TEST_F(SemaphoreCore, AQueuedWaitBelongsToItsClientUntilItEnds)
{
	auto sem = make(0);
	auto id = sem->acquire(":1.1", 1, record("a"));
	ASSERT_TRUE(id && id->has_value());
	EXPECT_TRUE(sem->isWaitOf(**id, ":1.1"));
	EXPECT_FALSE(sem->isWaitOf(**id, ":1.2")) << "another client may not cancel it";
	EXPECT_FALSE(sem->isWaitOf(**id + 1, ":1.1"));
	ASSERT_TRUE(sem->release(":1.9", 1));
	EXPECT_EQ(log, std::vector<std::string>{"a"});
	EXPECT_FALSE(sem->isWaitOf(**id, ":1.1")) << "an ended wait is nobody's";
}

TEST_F(SemaphoreCore, MaxBoundsReleasesAndRequests)
{
	SemaphoreOptions options;
	options.max = 4;
	auto sem = make(4, options);
	auto past = sem->release(":1.1", 1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(past.error().message.find("max is 4"), std::string::npos);
	auto tooMany = sem->tryAcquire(":1.1", 5);
	ASSERT_FALSE(tooMany);
	EXPECT_EQ(tooMany.error().code, ErrorCode::InvalidArgument);
	auto zero = sem->tryAcquire(":1.1", 0);
	ASSERT_FALSE(zero);
	EXPECT_EQ(zero.error().code, ErrorCode::InvalidArgument);

	options.max = 3;
	EXPECT_EQ(Semaphore::check(4, options).error().code, ErrorCode::InvalidArgument);
	options.max = 0;
	EXPECT_EQ(Semaphore::check(0, options).error().code, ErrorCode::InvalidArgument);
}

TEST_F(SemaphoreCore, ValueNeverWrapsPast32Bits)
{
	auto sem = make(UINT32_MAX);
	auto past = sem->release(":1.1", 1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded);
	EXPECT_EQ(sem->value(), UINT32_MAX);
	ASSERT_TRUE(sem->tryAcquire(":1.1", UINT32_MAX));
	EXPECT_EQ(sem->value(), 0u);
	EXPECT_TRUE(sem->release(":1.2", UINT32_MAX));
	EXPECT_EQ(sem->value(), UINT32_MAX);
}

TEST_F(SemaphoreCore, ReleasingMoreThanHeldIsAPost)
{
	auto sem = make(1);
	ASSERT_TRUE(sem->tryAcquire(":1.1", 1));
	ASSERT_TRUE(sem->release(":1.1", 3));
	EXPECT_EQ(sem->value(), 3u);
	EXPECT_EQ(sem->heldBy(":1.1"), 0u);
	EXPECT_TRUE(sem->holders().empty());
}

TEST_F(SemaphoreCore, DisconnectedHolderGivesUnitsBackToWaiters)
{
	auto sem = make(2);
	ASSERT_TRUE(sem->tryAcquire(":1.1", 2));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("waiter")));
	sem->dropClient(":1.1", false);
	EXPECT_EQ(log, std::vector<std::string>{"waiter"});
	EXPECT_EQ(sem->value(), 1u);
	EXPECT_EQ(sem->heldBy(":1.1"), 0u);
}

TEST_F(SemaphoreCore, DisconnectedWaiterLeavesTheQueueSilently)
{
	auto sem = make(0);
	ASSERT_TRUE(sem->acquire(":1.1", 2, record("gone")));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("next")));
	EXPECT_EQ(quota.waits(":1.1"), 1u);
	sem->dropClient(":1.1", false);
	EXPECT_EQ(quota.waits(":1.1"), 0u);
	EXPECT_EQ(sem->waiters(), 1u);
	ASSERT_TRUE(sem->release(":1.9", 1));
	EXPECT_EQ(log, std::vector<std::string>{"next"});
}

TEST_F(SemaphoreCore, ClosingCancelsTheClosersWaits)
{
	auto sem = make(0);
	ASSERT_TRUE(sem->acquire(":1.1", 1, record("mine")));
	sem->dropClient(":1.1", true);
	EXPECT_EQ(log, std::vector<std::string>{"mine:Cancelled"});
}

TEST_F(SemaphoreCore, PlainCounterConsumesUnits)
{
	SemaphoreOptions options;
	options.returnOnExit = false;
	auto sem = make(2, options);
	ASSERT_TRUE(sem->tryAcquire(":1.1", 2));
	EXPECT_TRUE(sem->holders().empty());
	sem->dropClient(":1.1", false);
	EXPECT_EQ(sem->value(), 0u);
}

TEST_F(SemaphoreCore, WaitsCountAgainstTheConnectionsQuota)
{
	limits.waitsPerConnection = 2;
	Quota small{limits};
	Semaphore sem(ObjectInfo{{"", "q"}, {}}, 0, {}, small);
	ASSERT_TRUE(sem.acquire(":1.1", 1, record("1")));
	ASSERT_TRUE(sem.acquire(":1.1", 1, record("2")));
	auto third = sem.acquire(":1.1", 1, record("3"));
	ASSERT_FALSE(third);
	EXPECT_EQ(third.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(third.error().message.find("waits_per_connection is 2"), std::string::npos);
	// Another connection is not held back.
	EXPECT_TRUE(sem.acquire(":1.2", 1, record("other")));
}

TEST_F(SemaphoreCore, EventsSeeEveryChange)
{
	auto sem = make(1);
	CountingEvents events;
	sem->setEvents(&events);
	ASSERT_TRUE(sem->tryAcquire(":1.1", 1));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("w")));
	ASSERT_TRUE(sem->release(":1.1", 1));
	EXPECT_EQ(events.changes, 3);
}

TEST_F(SemaphoreCore, EndFailsEveryWait)
{
	auto sem = make(0);
	ASSERT_TRUE(sem->acquire(":1.1", 1, record("a")));
	ASSERT_TRUE(sem->acquire(":1.2", 1, record("b")));
	sem->end({ErrorCode::Cancelled, "removed"});
	EXPECT_EQ(log, (std::vector<std::string>{"a:Cancelled", "b:Cancelled"}));
	EXPECT_EQ(quota.waits(":1.1"), 0u);
}

} // namespace
} // namespace ipchub::core
