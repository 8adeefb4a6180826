// SPDX-License-Identifier: LGPL-2.1-or-later
// Lock grants and handles counted per connection and in total, with no bus: refused
// past a limit, given back when the grant ends, and a queued wait whose connection
// used up its room meanwhile ends with LimitExceeded instead of a grant.

#include <optional>
#include <variant>

#include <gtest/gtest.h>

#include "core/hub.hpp"

namespace ipchub::core {
namespace {

ObjectInfo named(const std::string &key)
{
	return ObjectInfo{{"", key}, {}};
}

TEST(GrantQuota, HandlesHaveTheirOwnLimitsAndComeBackWhenTheGrantEnds)
{
	Limits limits;
	limits.handlesPerConnection = 2;
	limits.handlesTotal = 3;
	Hub hub(limits);
	Lock lock(named("db"), hub.quota, &hub.grants);
	auto first = lock.tryAcquire({"a"}, LockMode::Shared, true);
	ASSERT_TRUE(first);
	ASSERT_TRUE(lock.tryAcquire({"a"}, LockMode::Shared, true));
	// Plain grants are not handles.
	EXPECT_TRUE(lock.tryAcquire({"a"}, LockMode::Shared, false));
	auto refused = lock.room("a", true);
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(refused.error().message.find("handles_per_connection is 2"), std::string::npos);
	EXPECT_FALSE(lock.tryAcquire({"a"}, LockMode::Shared, true));

	ASSERT_TRUE(lock.tryAcquire({"b"}, LockMode::Shared, true));
	auto total = lock.room("c", true);
	ASSERT_FALSE(total);
	EXPECT_NE(total.error().message.find("handles_total is 3"), std::string::npos);

	ASSERT_TRUE(lock.releaseGrant(*first));
	EXPECT_TRUE(lock.room("c", true));
	lock.dropClient("a", false);
	EXPECT_EQ(hub.grants.handles("a"), 0u);
	EXPECT_EQ(hub.grants.grants("a"), 0u);
	EXPECT_EQ(hub.grants.handlesTotal(), 1u);
}

TEST(GrantQuota, AWaitWhoseConnectionUsedUpItsRoomEndsWithLimitExceeded)
{
	Limits limits;
	limits.grantsPerConnection = 1;
	Hub hub(limits);
	Lock contended(named("contended"), hub.quota, &hub.grants);
	Lock free(named("free"), hub.quota, &hub.grants);
	ASSERT_TRUE(contended.tryAcquire({"holder"}, LockMode::Exclusive, false));
	std::optional<Result<uint64_t>> outcome;
	auto attempt = contended.acquire({"client"}, LockMode::Shared, false,
					 [&](Result<uint64_t> result) { outcome = result; });
	ASSERT_TRUE(attempt);
	ASSERT_TRUE(std::holds_alternative<Queued>(*attempt));
	// Meanwhile the client takes its one grant elsewhere.
	ASSERT_TRUE(free.tryAcquire({"client"}, LockMode::Shared, false));
	ASSERT_TRUE(contended.release("holder"));
	ASSERT_TRUE(outcome);
	ASSERT_FALSE(*outcome);
	EXPECT_EQ(outcome->error().code, ErrorCode::LimitExceeded);
	EXPECT_FALSE(contended.mode());
	// A lock that goes gives its grants back.
	{
		Lock gone(named("gone"), hub.quota, &hub.grants);
		ASSERT_TRUE(gone.tryAcquire({"other"}, LockMode::Shared, false));
		EXPECT_EQ(hub.grants.grants("other"), 1u);
	}
	EXPECT_EQ(hub.grants.grants("other"), 0u);
}

} // namespace
} // namespace ipchub::core
