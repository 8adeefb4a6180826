// SPDX-License-Identifier: LGPL-2.1-or-later
// What each connection uses of its limits, with no bus: core/quota.

#include <fcntl.h>
#include <optional>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/hub.hpp"
#include "core/lock.hpp"
#include "core/object_table.hpp"
#include "core/quota.hpp"
#include "core/semaphore.hpp"
#include "core/shared_memory.hpp"

namespace ipchub::core {
namespace {

bool mentions(const Error &error, const std::string &text)
{
	return error.message.find(text) != std::string::npos;
}

// Whether result is a LimitExceeded whose message mentions text.
template <typename T>
::testing::AssertionResult refused(const Result<T> &result, const std::string &text)
{
	if (result)
		return ::testing::AssertionFailure() << "not refused";
	if (result.error().code != ErrorCode::LimitExceeded)
		return ::testing::AssertionFailure()
		       << "refused with another code: " << result.error().message;
	if (!mentions(result.error(), text))
		return ::testing::AssertionFailure() << "the refusal does not mention \"" << text
						     << "\": " << result.error().message;
	return ::testing::AssertionSuccess();
}

const Account kHost{1000, ""};
const Account kApp{1000, "org.example.App"};
const Account kOtherApp{1000, "org.example.Other"};

// Each test sets the limits it needs, then makes its Quota with the connections enrolled.
class QuotaTest : public ::testing::Test
{
protected:
	Limits limits;

	Quota &makeQuota(std::initializer_list<std::pair<ClientId, Account>> enrolled = {})
	{
		quota_.emplace(limits);
		for (const auto &[client, account] : enrolled)
			quota_->enroll(client, account);
		return *quota_;
	}

	// A new semaphore of units units, created in table as the Manager does.
	static Result<std::shared_ptr<Semaphore>>
	createSemaphore(ObjectTable<Semaphore> &table, Quota &quota, const ClientId &client,
			const ObjectKey &id, uint32_t units)
	{
		return table.create(client, id, false, true,
				    [&]() -> Result<std::shared_ptr<Semaphore>> {
					    return std::make_shared<Semaphore>(ObjectInfo{id, {}},
									       units,
									       SemaphoreOptions{},
									       quota);
				    });
	}

private:
	std::optional<Quota> quota_;
};

TEST_F(QuotaTest, ARefusalOfAConnectionThatHadNothingNamesWhatItHad)
{
	limits.bytesPerConnection = 4096;
	Quota &quota = makeQuota();
	// The client's usage is made for the check and dropped again before the
	// message is written.
	auto bytes = quota.takeBytes(":1.7", 8192);
	EXPECT_TRUE(refused(bytes, "already has 0 bytes"));
	EXPECT_TRUE(refused(bytes, "bytes_per_connection 4096"));
	EXPECT_FALSE(quota.inUse(":1.7"));

	limits.objectsPerConnection = 0;
	limits.waitsPerConnection = 0;
	Quota none(limits);
	EXPECT_TRUE(refused(none.takeObject(":1.7"), "already references 0 objects"));
	EXPECT_TRUE(refused(none.takeWait(":1.7"), "already has 0 waits"));
	EXPECT_FALSE(none.inUse(":1.7"));
}

UniqueFd sealedMemfd(uint64_t size)
{
	UniqueFd fd(memfd_create("quota-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	EXPECT_TRUE(fd);
	EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(size)), 0);
	EXPECT_EQ(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

// A persistent shared-memory object kept by a service whose bytes_per_connection was larger: it is
// restored, uncharged, and its creator can create nothing more past the new limit.
TEST_F(QuotaTest, ASharedMemoryRestoredUnderASmallerLimitIsKept)
{
	limits.bytesPerConnection = 4096;
	Quota &quota = makeQuota();
	auto sharedMemory = SharedMemory::restore({{"", "big"}, {}}, 65536, false,
						  sealedMemfd(65536), ":1.3", quota);
	ASSERT_TRUE(sharedMemory) << sharedMemory.error().message;
	EXPECT_EQ((*sharedMemory)->size(), 65536u);
	EXPECT_TRUE((*sharedMemory)->attach(":1.3", true));
	EXPECT_TRUE(quota.takeBytes(":1.3", 4096))
		<< "the restored shared-memory object is not charged";
	quota.returnBytes(":1.3", 4096);
	sharedMemory->reset();
	EXPECT_FALSE(quota.inUse(":1.3"));
}

// Connections of one account share its totals: past them a connection far from its
// own limits is refused, naming the limit; each app id has a budget of its own.
TEST_F(QuotaTest, TotalsAcrossConnectionsPerAccount)
{
	limits.objectsPerApp = 3;
	limits.waitsPerApp = 2;
	limits.bytesPerApp = 8192;
	limits.grantsPerApp = 1;
	limits.objectsPerUid = 4;
	Quota &quota =
		makeQuota({{":1.1", kApp}, {":1.2", kApp}, {":1.3", kOtherApp}, {":1.4", kHost}});

	ASSERT_TRUE(quota.takeObject(":1.1"));
	ASSERT_TRUE(quota.takeObject(":1.1"));
	ASSERT_TRUE(quota.takeObject(":1.2"));
	auto objects = quota.takeObject(":1.2");
	EXPECT_TRUE(refused(objects, "app org.example.App"));
	EXPECT_TRUE(refused(objects, "objects_per_app is 3"));
	EXPECT_TRUE(quota.takeObject(":1.3")) << "another app id has its own budget";
	for (int i = 0; i < 4; ++i)
		ASSERT_TRUE(quota.takeObject(":1.4")) << "the host has its own budget";
	auto host = quota.takeObject(":1.4");
	EXPECT_TRUE(refused(host, "uid 1000"));
	EXPECT_TRUE(refused(host, "objects_per_uid is 4"));
	quota.returnObject(":1.1");
	EXPECT_TRUE(quota.takeObject(":1.2")) << "a returned object makes room";

	ASSERT_TRUE(quota.takeWait(":1.1"));
	ASSERT_TRUE(quota.takeWait(":1.2"));
	EXPECT_TRUE(refused(quota.takeWait(":1.1"), "waits_per_app is 2"));

	ASSERT_TRUE(quota.takeBytes(":1.1", 4096));
	EXPECT_TRUE(refused(quota.takeBytes(":1.2", 8192), "bytes_per_app is 8192"));
	EXPECT_TRUE(quota.takeBytes(":1.2", 4096));

	ASSERT_TRUE(quota.checkGrant(":1.1"));
	quota.addGrant(":1.1");
	EXPECT_TRUE(refused(quota.checkGrant(":1.2"), "grants_per_app is 1"));
	EXPECT_TRUE(quota.checkGrant(":1.3"));
	quota.returnGrant(":1.1");
	EXPECT_TRUE(quota.checkGrant(":1.2"));
}

// What a connection still uses when it leaves (a persistent shared-memory object's bytes) stays
// charged to its account until it is given back.
TEST_F(QuotaTest, UseOutlivesTheConnectionsEnrollment)
{
	limits.bytesPerApp = 8192;
	Quota &quota = makeQuota({{":1.1", kApp}});
	ASSERT_TRUE(quota.takeBytes(":1.1", 8192));
	quota.forget(":1.1");
	quota.enroll(":1.2", kApp);
	EXPECT_FALSE(quota.takeBytes(":1.2", 1));
	quota.returnBytes(":1.1", 8192);
	EXPECT_TRUE(quota.takeBytes(":1.2", 1));
	EXPECT_FALSE(quota.inUse(":1.1"));
	EXPECT_EQ(quota.totals(kApp).bytes, 1u);
}

TEST_F(QuotaTest, PersistentObjectsAndTheSavedState)
{
	limits.persistentObjectsPerApp = 2;
	limits.persistentBytesPerApp = 10000;
	limits.persistentObjectsPerUid = 100;
	limits.stateBytes = 1000;
	Quota &quota = makeQuota();
	ASSERT_TRUE(quota.takePersistent(kApp, 100, 0));
	ASSERT_TRUE(quota.takePersistent(kApp, 100, 4096));
	EXPECT_TRUE(refused(quota.takePersistent(kApp, 100, 0), "persistent_objects_per_app is 2"));
	EXPECT_TRUE(quota.takePersistent(kOtherApp, 100, 0));
	EXPECT_TRUE(refused(quota.takePersistent(kOtherApp, 100, 10000),
			    "persistent_bytes_per_app is 10000"));

	// The saved state of every account together.
	EXPECT_EQ(quota.stateBytes(), 300u);
	ASSERT_TRUE(quota.takePersistent(kHost, 700, 0));
	EXPECT_TRUE(refused(quota.takePersistent(kHost, 1, 0), "state_bytes 1000"));
	quota.returnPersistent(kApp, 100, 4096);
	EXPECT_TRUE(quota.takePersistent(kHost, 100, 0));

	// Restored state is charged whatever the limits.
	quota.chargePersistent(kApp, 5000, 0);
	EXPECT_EQ(quota.totals(kApp).persistentObjects, 2u);
	EXPECT_EQ(quota.stateBytes(), 6000u);
}

// A persistent object counts against its creator's account after Close and after
// its creator left, until Remove; a restored one counts again.
TEST_F(QuotaTest, PersistentObjectsCountUntilRemoved)
{
	limits.persistentObjectsPerApp = 2;
	Quota &quota = makeQuota({{":1.1", kApp}});
	const Observers observers;
	ObjectTable<Semaphore> table(quota, "semaphore", observers);
	auto create = [&](const ClientId &client, const std::string &key) {
		return createSemaphore(table, quota, client, {"org.example.App", key}, 1);
	};
	ASSERT_TRUE(create(":1.1", "a"));
	table.close(":1.1", {"org.example.App", "a"});
	ASSERT_TRUE(create(":1.1", "b"));
	table.dropClient(":1.1");
	quota.forget(":1.1");
	EXPECT_EQ(quota.objects(":1.1"), 0u);

	quota.enroll(":1.2", kApp);
	EXPECT_TRUE(refused(create(":1.2", "c"), "persistent_objects_per_app is 2"));
	EXPECT_EQ(quota.objects(":1.2"), 0u) << "a refused create takes no reference";
	EXPECT_EQ(table.owner({"org.example.App", "a"}), kApp);

	ASSERT_TRUE(table.remove({"org.example.App", "a"}));
	EXPECT_TRUE(create(":1.2", "c"));
	EXPECT_EQ(quota.totals(kApp).persistentObjects, 2u);

	// Adopted (restored) objects count against their owner again.
	Quota restored(limits);
	ObjectTable<Semaphore> again(restored, "semaphore", observers);
	for (const char *key : {"x", "y", "z"})
		again.adopt(std::make_shared<Semaphore>(ObjectInfo{{"org.example.App", key}, {}}, 1,
							SemaphoreOptions{}, restored),
			    {}, kApp);
	EXPECT_EQ(restored.totals(kApp).persistentObjects, 3u);
	EXPECT_EQ(again.size(), 3u) << "lowered limits lose no restored object";
}

TEST_F(QuotaTest, LockGrantsCountUntilTheyEnd)
{
	Quota &quota = makeQuota({{":1.1", kApp}});
	{
		Lock lock({{"", "doc"}, {}}, quota);
		ASSERT_TRUE(lock.tryAcquire({":1.1", 1, kApp.appId}, LockMode::Shared, false));
		ASSERT_TRUE(lock.tryAcquire({":1.1", 1, kApp.appId}, LockMode::Shared, true));
		EXPECT_EQ(quota.totals(kApp).grants, 2u);
		ASSERT_TRUE(lock.release(":1.1"));
		EXPECT_EQ(quota.totals(kApp).grants, 1u);
	}
	EXPECT_EQ(quota.totals(kApp).grants, 0u) << "a lock that goes gives its grants back";
}

// A client that leaves visits the objects it referenced or touched, not every object.
TEST_F(QuotaTest, ADepartureVisitsOnlyWhatTheClientTouched)
{
	Quota &quota = makeQuota();
	const Observers observers;
	ObjectTable<Semaphore> table(quota, "semaphore", observers);
	std::vector<std::shared_ptr<Semaphore>> all;
	for (int i = 0; i < 3; ++i)
		all.push_back(
			*createSemaphore(table, quota, ":1.1", {"", "k" + std::to_string(i)}, 2));
	// :1.2 holds a unit of k1 without a reference (it guessed the path).
	ASSERT_TRUE(*all[1]->tryAcquire(":1.2", 1));
	EXPECT_EQ(table.touchingClients(), 2u);
	table.dropClient(":1.2");
	EXPECT_EQ(all[1]->value(), 2u) << "the unit comes back";
	EXPECT_EQ(table.touchingClients(), 1u);
	table.dropClient(":1.1");
	EXPECT_EQ(table.touchingClients(), 0u);
	EXPECT_EQ(quota.objects(":1.1"), 0u);
}

// Each connection's grants are counted once: the grant quota reads Quota's count, so
// the per-connection limit and the account's totals can never disagree.
TEST_F(QuotaTest, GrantsAreCountedOncePerConnection)
{
	limits.grantsPerConnection = 2;
	Hub hub(limits);
	hub.quota.enroll(":1.1", kApp);
	Lock lock({{"", "doc"}, {}}, hub.quota, &hub.grants);
	ASSERT_TRUE(lock.tryAcquire({":1.1", 1, kApp.appId}, LockMode::Shared, false));
	ASSERT_TRUE(lock.tryAcquire({":1.1", 1, kApp.appId}, LockMode::Shared, true));
	EXPECT_EQ(hub.quota.grants(":1.1"), 2u);
	EXPECT_EQ(hub.grants.grants(":1.1"), 2u);
	EXPECT_EQ(hub.grants.handles(":1.1"), 1u);
	EXPECT_EQ(hub.quota.totals(kApp).grants, 2u);
	EXPECT_TRUE(refused(lock.room(":1.1", false), "grants_per_connection is 2"));
	lock.dropClient(":1.1", false);
	EXPECT_EQ(hub.quota.grants(":1.1"), 0u);
	EXPECT_EQ(hub.grants.grants(":1.1"), 0u);
	EXPECT_EQ(hub.grants.handles(":1.1"), 0u);
	EXPECT_EQ(hub.quota.totals(kApp).grants, 0u);
}

// A lock's room is its account's too: a grant refused by grants_per_app names it, and
// a waiter whose account filled up while it waited ends with LimitExceeded.
TEST_F(QuotaTest, TheAccountsGrantLimitHoldsForEveryWayToAGrant)
{
	limits.grantsPerApp = 1;
	Hub hub(limits);
	hub.quota.enroll(":1.1", kApp);
	hub.quota.enroll(":1.2", kApp);
	hub.quota.enroll(":1.9", kHost);
	Lock contended({{"", "contended"}, {}}, hub.quota, &hub.grants);
	Lock free({{"", "free"}, {}}, hub.quota, &hub.grants);
	ASSERT_TRUE(contended.tryAcquire({":1.9", 1, ""}, LockMode::Exclusive, false));
	std::optional<Result<uint64_t>> outcome;
	ASSERT_TRUE(contended.acquire({":1.1", 1, kApp.appId}, LockMode::Shared, false,
				      [&](Result<uint64_t> result) { outcome = result; }));
	// Another connection of the same app takes the app's one grant meanwhile.
	ASSERT_TRUE(free.tryAcquire({":1.2", 1, kApp.appId}, LockMode::Shared, false));
	EXPECT_TRUE(refused(free.acquireNow({":1.1", 1, kApp.appId}, LockMode::Shared, false),
			    "grants_per_app is 1"));
	ASSERT_TRUE(contended.release(":1.9"));
	ASSERT_TRUE(outcome);
	ASSERT_FALSE(*outcome);
	EXPECT_EQ(outcome->error().code, ErrorCode::LimitExceeded);
	EXPECT_EQ(hub.quota.totals(kApp).grants, 1u);
}

// Objects, waits and bytes share one way to be taken and given back: the connection's
// limit, then the account's, each refusal naming its limit and leaving nothing behind.
TEST_F(QuotaTest, EveryKindOfUseIsTakenAndGivenBackAlike)
{
	limits.objectsPerConnection = 2;
	limits.waitsPerConnection = 2;
	limits.bytesPerConnection = 100;
	limits.waitsPerApp = 3;
	limits.bytesPerApp = 150;
	Quota &quota = makeQuota({{":1.1", kApp}, {":1.2", kApp}});

	ASSERT_TRUE(quota.takeObject(":1.1"));
	ASSERT_TRUE(quota.takeObject(":1.1"));
	EXPECT_TRUE(refused(quota.takeObject(":1.1"), "connection :1.1 already references 2 "
						      "objects; objects_per_connection is 2"));
	EXPECT_EQ(quota.objects(":1.1"), 2u);

	ASSERT_TRUE(quota.takeWait(":1.1"));
	ASSERT_TRUE(quota.takeWait(":1.1"));
	ASSERT_TRUE(quota.takeWait(":1.2"));
	EXPECT_TRUE(refused(quota.takeWait(":1.2"),
			    "app org.example.App's connections together have 3 waits queued; "
			    "waits_per_app is 3"));
	EXPECT_EQ(quota.waits(":1.2"), 1u);

	EXPECT_TRUE(refused(quota.takeBytes(":1.1", 101),
			    "already has 0 bytes of shared memory; "
			    "101 more would pass bytes_per_connection 100"));
	ASSERT_TRUE(quota.takeBytes(":1.1", 100));
	EXPECT_TRUE(refused(quota.takeBytes(":1.2", 60),
			    "have 100 bytes of shared memory; 60 "
			    "more would pass it; bytes_per_app is 150"));
	EXPECT_EQ(quota.totals(kApp).bytes, 100u);

	// Giving back more than was taken gives back what was taken, and no more.
	quota.returnBytes(":1.1", 1000);
	quota.returnObject(":1.1");
	quota.returnObject(":1.1");
	quota.returnObject(":1.1");
	for (int i = 0; i < 3; ++i) {
		quota.returnWait(":1.1");
		quota.returnWait(":1.2");
	}
	const auto totals = quota.totals(kApp);
	EXPECT_EQ(totals.objects, 0u);
	EXPECT_EQ(totals.waits, 0u);
	EXPECT_EQ(totals.bytes, 0u);
	quota.forget(":1.1");
	quota.forget(":1.2");
	EXPECT_FALSE(quota.inUse(":1.1"));
	EXPECT_FALSE(quota.inUse(":1.2"));
}

} // namespace
} // namespace ipchub::core
