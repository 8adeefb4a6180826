// SPDX-License-Identifier: LGPL-2.1-or-later
// Totals across connections through the real bus: a user's host connections share
// one budget of objects, waits, lock grants and shared-memory object bytes, and persistent objects
// count against their creator until Remove, whether it closed them or left the bus.

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using AccountLimitsTest = IpchubTest;

constexpr const char *kManager = "/io/github/ipchub1";
constexpr const char *kManagerInterface = "io.github.ipchub1.Manager";

bool mentions(const Error &error, const std::string &text)
{
	return error.message.find(text) != std::string::npos;
}

TEST_F(AccountLimitsTest, LimitsShowsTheTotals)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--objects-per-uid=7", "--persistent-objects-per-app=5", "--state-bytes=1M"});
	RawConnection raw(address());
	auto shown = raw.property(kManager, kManagerInterface, "Limits")
			     .get<std::map<std::string, sdbus::Variant>>();
	EXPECT_EQ(shown.at("objects_per_uid").get<uint32_t>(), 7u);
	EXPECT_EQ(shown.at("persistent_objects_per_app").get<uint32_t>(), 5u);
	EXPECT_EQ(shown.at("state_bytes").get<uint64_t>(), uint64_t{1} << 20);
	for (const char *name : {"objects_per_app", "waits_per_uid", "waits_per_app",
				 "grants_per_uid", "grants_per_app", "persistent_objects_per_uid"})
		EXPECT_GT(shown.at(name).get<uint32_t>(), 0u) << name;
	for (const char *name : {"bytes_per_uid", "bytes_per_app", "persistent_bytes_per_uid",
				 "persistent_bytes_per_app"})
		EXPECT_GT(shown.at(name).get<uint64_t>(), 0u) << name;
	// A state budget a restart could not read back is refused.
	auto refused = run({ipchubdPath(), "--state-bytes=200M"}, 10s);
	EXPECT_EQ(refused.status, 2);
	EXPECT_TRUE(refused.err.find("state-bytes") != std::string::npos) << refused.err;
}

// Closing a persistent object keeps it, and keeps it counted: a connection cannot
// make persistent objects without end by closing each one.
TEST_F(AccountLimitsTest, PersistentObjectsCountAfterCloseAndDisconnectUntilRemove)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--persistent-objects-per-uid=3"});
	std::vector<std::string> paths;
	{
		auto client = connect();
		for (const char *key : {"a", "b"}) {
			auto semaphore = client.createSemaphore(key, 1, {.persistent = true});
			ASSERT_TRUE(semaphore) << semaphore.error().message;
			paths.push_back(semaphore->path());
			ASSERT_TRUE(semaphore->close());
		}
		auto lock = client.createLock("c", {.persistent = true});
		ASSERT_TRUE(lock) << lock.error().message;
		ASSERT_TRUE(lock->close());
		auto refused = client.createSemaphore("d", 1, {.persistent = true});
		ASSERT_FALSE(refused);
		EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
		EXPECT_TRUE(mentions(refused.error(), "persistent_objects_per_uid is 3"))
			<< refused.error().message;
		// Objects that are not persistent are not this budget's.
		EXPECT_TRUE(client.createSemaphore("passing", 1));
	}
	// The creator left; another connection of the same user shares the budget.
	auto other = connect();
	auto refused = other.createSharedMemory("d", 4096, {.persistent = true});
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(refused.error(), "persistent_objects_per_uid is 3"))
		<< refused.error().message;
	ASSERT_TRUE(other.remove(paths[0]));
	auto made = other.createSharedMemory("d", 4096, {.persistent = true});
	EXPECT_TRUE(made) << made.error().message;
}

// The saved state is bounded when it is written: persistent objects with long
// allowed_apps stop at state_bytes, far below what a restart reads back.
TEST_F(AccountLimitsTest, TheSavedStateIsBounded)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--state-bytes=64K"});
	auto client = connect();
	std::vector<std::string> apps;
	for (int i = 0; i < 64; ++i)
		apps.push_back("org.example.App" + std::to_string(i) + std::string(200, 'x'));
	int made = 0;
	Result<Semaphore> last =
		client.createSemaphore("s0", 1, {.persistent = true, .allowedApps = apps});
	while (last && made < 100) {
		++made;
		last = client.createSemaphore("s" + std::to_string(made), 1,
					      {.persistent = true, .allowedApps = apps});
	}
	ASSERT_FALSE(last) << "64 KiB holds about 4 such objects, not 100";
	EXPECT_EQ(last.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(last.error(), "state_bytes 65536")) << last.error().message;
	EXPECT_GE(made, 3);
	EXPECT_LE(made, 5);
}

TEST_F(AccountLimitsTest, ObjectsWaitsGrantsAndBytesAcrossConnections)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--objects-per-uid=5", "--waits-per-uid=2", "--grants-per-uid=2",
		     "--bytes-per-uid=8K"});
	auto first = connect();
	auto second = connect();

	// Objects: references of every connection of the user together.
	std::vector<Semaphore> kept;
	for (int i = 0; i < 3; ++i) {
		auto semaphore = first.createSemaphore("o" + std::to_string(i), 0);
		ASSERT_TRUE(semaphore) << semaphore.error().message;
		kept.push_back(std::move(*semaphore));
	}
	auto opened = second.openSemaphore("o0");
	ASSERT_TRUE(opened) << opened.error().message;
	auto fifth = second.createLock("l");
	ASSERT_TRUE(fifth) << fifth.error().message;
	auto sixth = second.createSemaphore("o3", 0);
	ASSERT_FALSE(sixth);
	EXPECT_EQ(sixth.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(sixth.error(), "objects_per_uid is 5")) << sixth.error().message;

	// Lock grants: two shared grants from two connections, a third is refused.
	auto firstLock = first.openLock("l");
	ASSERT_FALSE(firstLock) << "first holds 3 references and the user 5";
	ASSERT_TRUE(opened->close());
	firstLock = first.openLock("l");
	ASSERT_TRUE(firstLock) << firstLock.error().message;
	auto g1 = firstLock->acquire(LockMode::Shared, 1s);
	auto g2 = fifth->acquire(LockMode::Shared, 1s);
	ASSERT_TRUE(g1 && g2);
	auto g3 = fifth->tryAcquire(LockMode::Shared);
	ASSERT_FALSE(g3);
	EXPECT_EQ(g3.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(g3.error(), "grants_per_uid is 2")) << g3.error().message;
	ASSERT_TRUE(g1->release());
	EXPECT_TRUE(fifth->tryAcquire(LockMode::Shared).value().has_value());

	// Waits: queued by two connections, a third is refused.
	RawConnection a(address()), b(address());
	auto w1 = a.acquireAsync(kept[0].path(), 1, UINT64_MAX);
	auto w2 = b.acquireAsync(kept[0].path(), 1, UINT64_MAX);
	ASSERT_TRUE(a.waitFor([&] { return a.waiters(kept[0].path()) == 2; }));
	auto w3 = a.acquireAsync(kept[1].path(), 1, UINT64_MAX);
	ASSERT_TRUE(a.waitFor([&] { return w3->done; }));
	EXPECT_EQ(w3->error, errorName("LimitExceeded"));
	EXPECT_TRUE(w3->message.find("waits_per_uid is 2") != std::string::npos) << w3->message;

	// Shared-memory object bytes (references given back first, to stay under objects_per_uid).
	ASSERT_TRUE(kept[1].close());
	ASSERT_TRUE(kept[2].close());
	auto s1 = first.createSharedMemory("m1", 4096);
	ASSERT_TRUE(s1) << s1.error().message;
	auto s2 = second.createSharedMemory("m2", 8192);
	ASSERT_FALSE(s2);
	EXPECT_EQ(s2.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(s2.error(), "bytes_per_uid is 8192")) << s2.error().message;
}

} // namespace
} // namespace ipchub::test
