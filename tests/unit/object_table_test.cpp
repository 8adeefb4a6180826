// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/object_table.hpp"
#include "core/semaphore.hpp"
#include "recording_observer.hpp"

namespace ipchub::core {
namespace {

class ObjectTableTest : public ::testing::Test
{
protected:
	Result<std::shared_ptr<Semaphore>> create(const ClientId &client, const std::string &key,
						  bool openExisting = false, bool persistent = false)
	{
		const ObjectKey id{"", key};
		return table.create(client, id, openExisting, persistent,
				    [&]() -> Result<std::shared_ptr<Semaphore>> {
					    return std::make_shared<Semaphore>(ObjectInfo{id, {}}, 1,
									       SemaphoreOptions{}, quota);
				    });
	}

	void SetUp() override { observers.add(observer); }

	Limits limits;
	Quota quota{limits};
	Observers observers;
	RecordingObserver observer;
	ObjectTable<Semaphore> table{quota, "semaphore", observers};
	const std::vector<std::string> &removed = observer.removed_;
};

TEST_F(ObjectTableTest, CreateTwiceIsAlreadyExistsUnlessOpenExisting)
{
	auto first = create(":1.1", "k");
	ASSERT_TRUE(first);
	auto again = create(":1.2", "k");
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
	auto opened = create(":1.2", "k", true);
	ASSERT_TRUE(opened);
	EXPECT_EQ(opened->get(), first->get());
	EXPECT_TRUE(table.references({"", "k"}, ":1.2"));
}

TEST_F(ObjectTableTest, OpenOfMissingIsNotFound)
{
	auto missing = table.open(":1.1", {"", "nope"});
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(ObjectTableTest, LastReferenceRemovesNonPersistentObject)
{
	ASSERT_TRUE(create(":1.1", "k"));
	ASSERT_TRUE(table.open(":1.2", {"", "k"}));
	table.close(":1.1", {"", "k"});
	EXPECT_TRUE(removed.empty());
	table.dropClient(":1.2");
	EXPECT_EQ(removed, std::vector<std::string>{"k"});
	EXPECT_EQ(table.find({"", "k"}), nullptr);
	EXPECT_EQ(quota.objects(":1.1"), 0u);
	EXPECT_EQ(quota.objects(":1.2"), 0u);
}

TEST_F(ObjectTableTest, PersistentObjectStaysUntilRemove)
{
	ASSERT_TRUE(create(":1.1", "k", false, true));
	table.dropClient(":1.1");
	EXPECT_NE(table.find({"", "k"}), nullptr);
	ASSERT_TRUE(table.remove({"", "k"}));
	EXPECT_EQ(removed, std::vector<std::string>{"k"});
	EXPECT_EQ(table.remove({"", "k"}).error().code, ErrorCode::NotFound);
}

TEST_F(ObjectTableTest, DisconnectGivesBackUnitsOfObjectsItDidNotOpen)
{
	auto sem = create(":1.1", "k");
	ASSERT_TRUE(sem);
	ASSERT_TRUE((*sem)->tryAcquire(":1.2", 1));
	table.dropClient(":1.2");
	EXPECT_EQ((*sem)->value(), 1u);
	EXPECT_TRUE(removed.empty());
}

TEST_F(ObjectTableTest, ObjectsPerConnectionIsEnforcedAndReturned)
{
	limits.objectsPerConnection = 2;
	Quota small{limits};
	ObjectTable<Semaphore> limited{small, "semaphore", observers};
	auto make = [&](const std::string &key) {
		const ObjectKey id{"", key};
		return limited.create(":1.1", id, false, false,
				      [&]() -> Result<std::shared_ptr<Semaphore>> {
					      return std::make_shared<Semaphore>(
						      ObjectInfo{id, {}}, 0, SemaphoreOptions{}, small);
				      });
	};
	ASSERT_TRUE(make("a"));
	ASSERT_TRUE(make("b"));
	auto third = make("c");
	ASSERT_FALSE(third);
	EXPECT_EQ(third.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(third.error().message.find("objects_per_connection is 2"), std::string::npos);
	limited.close(":1.1", {"", "a"});
	EXPECT_TRUE(make("c"));
}

TEST_F(ObjectTableTest, FailedMakeTakesNoReference)
{
	auto failed = table.create(":1.1", {"", "k"}, false, false,
				   []() -> Result<std::shared_ptr<Semaphore>> {
					   return fail(ErrorCode::InvalidArgument, "bad");
				   });
	ASSERT_FALSE(failed);
	EXPECT_EQ(quota.objects(":1.1"), 0u);
	EXPECT_EQ(table.size(), 0u);
}

TEST_F(ObjectTableTest, RemoveCancelsWaits)
{
	auto sem = create(":1.1", "k", false, true);
	ASSERT_TRUE(sem);
	ASSERT_TRUE((*sem)->tryAcquire(":1.1", 1));
	std::string outcome;
	ASSERT_TRUE((*sem)->acquire(":1.2", 1, [&](Result<void> r) {
		outcome = r ? "granted" : std::string(errorCodeName(r.error().code));
	}));
	ASSERT_TRUE(table.remove({"", "k"}));
	EXPECT_EQ(outcome, "Cancelled");
}

TEST_F(ObjectTableTest, EveryObserverIsToldOfEveryObjectByName)
{
	// A second observer adds to the first: both hear of everything, in order.
	RecordingObserver second;
	observers.add(second);
	auto semaphore = create(":1.1", "k", false, true);
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE((*semaphore)->tryAcquire(":1.1", 1));
	for (const auto *heard : {&observer, &second}) {
		EXPECT_EQ(heard->added_, std::vector<std::string>{"k"});
		EXPECT_EQ(heard->changed_, std::vector<std::string>{"k"});
		EXPECT_EQ(heard->state_, std::vector<std::string>{"k"});
	}
	observers.remove(second);
	ASSERT_TRUE(table.remove({"", "k"}));
	EXPECT_EQ(observer.removed_, std::vector<std::string>{"k"});
	EXPECT_TRUE(second.removed_.empty()) << "a removed observer hears nothing more";
	// A removed object tells nobody of what still happens to it.
	ASSERT_TRUE((*semaphore)->release(":1.1", 1) || true);
	EXPECT_EQ(observer.changed_.size(), 1u);
}

} // namespace
} // namespace ipchub::core
