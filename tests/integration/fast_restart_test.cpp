// SPDX-License-Identifier: LGPL-2.1-or-later
// Persistent fast objects across a restart of ipchubd from the fd store: they come back
// fast, with a new page that holds their state as ipchubd knew it (the value, the
// units and grants of holders still on the bus, the fencing tokens' count), and
// clients attach again.

#include "fast/lock.hpp"
#include "fast/semaphore.hpp"
#include "fast_fixture.hpp"
#include "fd_store_manager.hpp"

namespace ipchub::test {
namespace {

class FastRestartTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		stopDaemon();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd with NOTIFY_SOCKET";
	}

	void restart()
	{
		daemon_.kill();
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
	}

	FdStoreManager manager_;
	Child daemon_;
};

TEST_F(FastRestartTest, PersistentFastObjectsComeBackFastWithTheirState)
{
	RawConnection raw(address());
	const auto semaphore = raw.createSemaphore("jobs", 3,
						   {{"fast", sdbus::Variant(true)},
						    {"max", sdbus::Variant(uint32_t{4})},
						    {"persistent", sdbus::Variant(true)}});
	const auto lock = createFastLock(raw, "db", true, {{"persistent", sdbus::Variant(true)}});
	auto lockPage = attachLock(raw, lock);
	lockPage.view().token().store(40);
	auto semProxy = sdbus::createProxy(raw.connection(), kFastBusName, semaphore);
	auto lockProxy = sdbus::createProxy(raw.connection(), kFastBusName, lock);
	bool acquired = false;
	semProxy->callMethod("TryAcquire")
		.onInterface(kFastSemaphore)
		.withArguments(1u)
		.storeResultsTo(acquired);
	ASSERT_TRUE(acquired);
	uint64_t token = 0;
	lockProxy->callMethod("TryAcquire")
		.onInterface(kFastLock)
		.withArguments(std::string("exclusive"))
		.storeResultsTo(acquired, token);
	ASSERT_TRUE(acquired);
	EXPECT_EQ(token, 41u);

	restart();
	EXPECT_TRUE(raw.property(semaphore, kFastSemaphore, "Fast").get<bool>());
	EXPECT_TRUE(raw.property(lock, kFastLock, "Fast").get<bool>());
	EXPECT_EQ(raw.value(semaphore), 2u);
	auto holders = raw.property(semaphore, kFastSemaphore, "Holders")
			       .get<std::vector<sdbus::Struct<std::string, uint32_t>>>();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].get<0>(), raw.uniqueName());
	EXPECT_EQ(holders[0].get<1>(), 1u);
	EXPECT_EQ(raw.property(lock, kFastLock, "Mode").get<std::string>(), "exclusive");
	EXPECT_EQ(raw.property(lock, kFastLock, "Token").get<uint64_t>(), 41u);

	// New pages: the client attaches again and finds the state there.
	auto semPage = attachSemaphore(raw, semaphore);
	EXPECT_EQ(fast::freeUnits(semPage.view()), 2u);
	auto newLockPage = attachLock(raw, lock);
	const uint32_t mine = fast::makeToken(newLockPage.owner, 1);
	EXPECT_FALSE(fast::lock(newLockPage.view(), mine, fast::Deadline::none()));
	semProxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(1u);
	EXPECT_EQ(fast::freeUnits(semPage.view()), 3u);
	lockProxy->callMethod("Release").onInterface(kFastLock);
	ASSERT_TRUE(fast::lock(newLockPage.view(), mine, fast::Deadline::none()));
	ASSERT_TRUE(fast::unlock(newLockPage.view(), mine));
	lockProxy->callMethod("TryAcquire")
		.onInterface(kFastLock)
		.withArguments(std::string("exclusive"))
		.storeResultsTo(acquired, token);
	EXPECT_TRUE(acquired);
	EXPECT_EQ(token, 42u);
	lockProxy->callMethod("Release").onInterface(kFastLock);

	auto manager = sdbus::createProxy(raw.connection(), kFastBusName, kFastManagerPath);
	for (const auto &path : {semaphore, lock})
		manager->callMethod("Remove")
			.onInterface(kFastManager)
			.withArguments(sdbus::ObjectPath(path));
}

} // namespace
} // namespace ipchub::test
