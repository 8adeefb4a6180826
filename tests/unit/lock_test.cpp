// SPDX-License-Identifier: LGPL-2.1-or-later
// The readers-writer lock with no bus: core/lock.

#include <fcntl.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/hub.hpp"
#include "recording_observer.hpp"

namespace ipchub::core {
namespace {

class LockCore : public ::testing::Test
{
protected:
	Requester who(const std::string &client) { return {client, 42, ""}; }

	// Queues a wait of client and notes how it ended in outcomes[client].
	Result<Attempt> queue(const std::string &client, LockMode mode, bool handle = false)
	{
		return lock.acquire(who(client), mode, handle,
				    [this, client](Result<uint64_t> result) {
					    outcomes.emplace_back(client, result);
				    });
	}

	Limits limits;
	Hub hub{limits};
	Lock lock{{{"", "db"}, {}}, hub.quota, &hub.grants};
	std::vector<std::pair<std::string, Result<uint64_t>>> outcomes;
};

TEST_F(LockCore, ReadersShareAWriterIsAloneAndTokensGrow)
{
	auto first = lock.tryAcquire(who(":1.1"), LockMode::Shared, false);
	auto second = lock.tryAcquire(who(":1.2"), LockMode::Shared, false);
	ASSERT_TRUE(first && second);
	EXPECT_LT(*first, *second);
	EXPECT_EQ(lock.mode(), LockMode::Shared);
	EXPECT_EQ(lock.grants().size(), 2u);
	EXPECT_FALSE(lock.tryAcquire(who(":1.3"), LockMode::Exclusive, false));
	ASSERT_TRUE(lock.release(":1.1"));
	ASSERT_TRUE(lock.release(":1.2"));
	EXPECT_FALSE(lock.mode());
	auto writer = lock.tryAcquire(who(":1.3"), LockMode::Exclusive, false);
	ASSERT_TRUE(writer);
	EXPECT_GT(*writer, *second);
	EXPECT_EQ(lock.token(), *writer);
	EXPECT_FALSE(lock.tryAcquire(who(":1.1"), LockMode::Shared, false));
}

TEST_F(LockCore, AQueuedWriterIsNotOvertakenByLaterReaders)
{
	ASSERT_TRUE(lock.tryAcquire(who(":1.1"), LockMode::Shared, false));
	auto writer = queue(":1.2", LockMode::Exclusive);
	ASSERT_TRUE(writer);
	ASSERT_TRUE(std::holds_alternative<Queued>(*writer));
	// Shared would fit the holder's mode, but the writer came first.
	EXPECT_FALSE(lock.tryAcquire(who(":1.3"), LockMode::Shared, false));
	auto reader = queue(":1.3", LockMode::Shared);
	ASSERT_TRUE(reader && std::holds_alternative<Queued>(*reader));
	EXPECT_EQ(lock.waiters(), 2u);
	ASSERT_TRUE(lock.release(":1.1"));
	ASSERT_EQ(outcomes.size(), 1u);
	EXPECT_EQ(outcomes[0].first, ":1.2");
	ASSERT_TRUE(outcomes[0].second);
	EXPECT_EQ(lock.mode(), LockMode::Exclusive);
	ASSERT_TRUE(lock.release(":1.2"));
	ASSERT_EQ(outcomes.size(), 2u);
	EXPECT_EQ(outcomes[1].first, ":1.3");
	EXPECT_GT(*outcomes[1].second, *outcomes[0].second);
}

TEST_F(LockCore, AcquireNowSaysWouldBlockAndTimeoutsNameTheMode)
{
	ASSERT_TRUE(lock.acquireNow(who(":1.1"), LockMode::Exclusive, false));
	auto blocked = lock.acquireNow(who(":1.2"), LockMode::Shared, false);
	ASSERT_FALSE(blocked);
	EXPECT_EQ(blocked.error().code, ErrorCode::WouldBlock);
	EXPECT_NE(blocked.error().message.find("mode shared"), std::string::npos);
	const Error timeout = Lock::timedOut(LockMode::Exclusive, 1500);
	EXPECT_EQ(timeout.code, ErrorCode::Timeout);
	EXPECT_NE(timeout.message.find("mode exclusive within 1500 µs"), std::string::npos);
	EXPECT_TRUE(Lock::timedOut(LockMode::Shared, 1).message.find("shared") !=
		    std::string::npos);
}

TEST_F(LockCore, ACancelledWriterLetsTheReadersBehindItIn)
{
	ASSERT_TRUE(lock.tryAcquire(who(":1.1"), LockMode::Shared, false));
	auto writer = queue(":1.2", LockMode::Exclusive);
	auto reader = queue(":1.3", LockMode::Shared);
	ASSERT_TRUE(writer && reader);
	const WaitId id = std::get<Queued>(*writer).id;
	EXPECT_TRUE(lock.isWaitOf(id, ":1.2"));
	EXPECT_FALSE(lock.isWaitOf(id, ":1.3")) << "a ticket is its waiter's alone";
	lock.cancelWait(id, Lock::timedOut(LockMode::Exclusive, 10));
	ASSERT_EQ(outcomes.size(), 2u);
	EXPECT_EQ(outcomes[0].first, ":1.3") << "served before the cancelled one hears";
	EXPECT_TRUE(outcomes[0].second);
	EXPECT_EQ(outcomes[1].first, ":1.2");
	ASSERT_FALSE(outcomes[1].second);
	EXPECT_EQ(outcomes[1].second.error().code, ErrorCode::Timeout);
	lock.cancelWait(id, Lock::timedOut(LockMode::Exclusive, 10));
	EXPECT_EQ(outcomes.size(), 2u) << "a wait ends once";
}

TEST_F(LockCore, ReleaseEndsPlainGrantsFirstNewestFirstAndNotHeldOtherwise)
{
	auto handle = lock.tryAcquire(who(":1.1"), LockMode::Shared, true);
	auto older = lock.tryAcquire(who(":1.1"), LockMode::Shared, false);
	auto newer = lock.tryAcquire(who(":1.1"), LockMode::Shared, false);
	ASSERT_TRUE(handle && older && newer);
	ASSERT_TRUE(lock.release(":1.1"));
	EXPECT_FALSE(lock.holds(*newer));
	EXPECT_TRUE(lock.holds(*older));
	ASSERT_TRUE(lock.release(":1.1"));
	EXPECT_FALSE(lock.holds(*older));
	EXPECT_TRUE(lock.holds(*handle)) << "a handle ends by Release last";
	ASSERT_TRUE(lock.release(":1.1"));
	auto none = lock.release(":1.1");
	ASSERT_FALSE(none);
	EXPECT_EQ(none.error().code, ErrorCode::NotHeld);
	EXPECT_FALSE(lock.releaseGrant(*handle)) << "ended already";
}

TEST_F(LockCore, HandleEndsAreKeptUntilTheirGrantEnds)
{
	int pipeFds[2];
	ASSERT_EQ(pipe2(pipeFds, O_CLOEXEC), 0);
	UniqueFd readEnd(pipeFds[0]), writeEnd(pipeFds[1]);
	auto plain = lock.tryAcquire(who(":1.1"), LockMode::Shared, false);
	auto handle = lock.tryAcquire(who(":1.1"), LockMode::Shared, true);
	ASSERT_TRUE(plain && handle);
	EXPECT_FALSE(lock.keepHandleEnd(*plain, UniqueFd(dup(readEnd.get()))))
		<< "a plain grant has no handle";
	ASSERT_TRUE(lock.keepHandleEnd(*handle, std::move(readEnd)));
	EXPECT_EQ(lock.handleEnds().size(), 1u);
	ASSERT_TRUE(lock.releaseGrant(*handle));
	EXPECT_TRUE(lock.handleEnds().empty());
}

TEST_F(LockCore, ClosingCancelsWaitsLeavingDropsThemAndBothEndGrants)
{
	ASSERT_TRUE(lock.tryAcquire(who(":1.1"), LockMode::Exclusive, false));
	ASSERT_TRUE(queue(":1.2", LockMode::Shared));
	ASSERT_TRUE(queue(":1.3", LockMode::Shared));
	lock.dropClient(":1.2", true);
	ASSERT_EQ(outcomes.size(), 1u);
	EXPECT_EQ(outcomes[0].second.error().code, ErrorCode::Cancelled);
	lock.dropClient(":1.1", false);
	ASSERT_EQ(outcomes.size(), 2u);
	EXPECT_EQ(outcomes[1].first, ":1.3");
	EXPECT_TRUE(outcomes[1].second) << "the holder's departure serves the next";
	ASSERT_TRUE(queue(":1.4", LockMode::Exclusive));
	lock.dropClient(":1.4", false);
	EXPECT_EQ(outcomes.size(), 2u) << "a departed waiter is told nothing";
	EXPECT_EQ(lock.waiters(), 0u);
	EXPECT_EQ(hub.grants.grants(":1.1"), 0u);
}

TEST_F(LockCore, EndFailsEveryWaitAndGivesBackEveryGrant)
{
	ASSERT_TRUE(lock.tryAcquire(who(":1.1"), LockMode::Exclusive, false));
	ASSERT_TRUE(queue(":1.2", LockMode::Shared));
	lock.end({ErrorCode::Cancelled, "removed"});
	ASSERT_EQ(outcomes.size(), 1u);
	EXPECT_EQ(outcomes[0].second.error().message, "removed");
	EXPECT_TRUE(lock.grants().empty());
	EXPECT_EQ(hub.quota.grants(":1.1"), 0u);
}

TEST_F(LockCore, RestoredTokensContinueAboveTheLastOne)
{
	Lock restored{{{"", "db"}, {}}, hub.quota, &hub.grants};
	restored.restore(41, {LockGrant{who(":1.1"), LockMode::Shared, 40, 0, false}}, {});
	EXPECT_EQ(restored.token(), 41u);
	EXPECT_TRUE(restored.holds(40));
	EXPECT_EQ(hub.quota.grants(":1.1"), 1u) << "a restored grant counts";
	auto next = restored.tryAcquire(who(":1.2"), LockMode::Shared, false);
	ASSERT_TRUE(next);
	EXPECT_EQ(*next, 42u);
}

TEST_F(LockCore, ParsesModesByName)
{
	EXPECT_EQ(parseLockMode("shared").value(), LockMode::Shared);
	EXPECT_EQ(parseLockMode("exclusive").value(), LockMode::Exclusive);
	auto bad = parseLockMode("write");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
	EXPECT_EQ(lockModeName(LockMode::Exclusive), "exclusive");
}

TEST_F(LockCore, TellsItsEventsOfChangesStateAndTouches)
{
	CountingEvents events;
	lock.setEvents(&events);
	ASSERT_TRUE(lock.tryAcquire(who(":1.1"), LockMode::Exclusive, false));
	ASSERT_TRUE(queue(":1.2", LockMode::Shared));
	ASSERT_TRUE(lock.release(":1.1"));
	EXPECT_EQ(events.changes, 3) << "grant, queued wait, release";
	EXPECT_GE(events.stateChanges, 3) << "two grants and a release are persisted";
	EXPECT_EQ(events.touchedBy, (std::vector<ClientId>{":1.1", ":1.2"}));
	lock.setEvents(nullptr);
}

} // namespace
} // namespace ipchub::core
