// SPDX-License-Identifier: LGPL-2.1-or-later
// Client::status() reads an object without touching what the caller's connection holds
// on it: no Open, no Close, no reference taken or dropped.

#include "bus_fixture.hpp"

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;

std::string propertyOf(const ObjectStatus &status, std::string_view name)
{
	const std::string *value = status.property(name);
	return value ? *value : "<missing " + std::string(name) + ">";
}

using ClientStatusTest = IpchubTest;

TEST_F(ClientStatusTest, SemaphoreKeepsTheUnitTheCallerHolds)
{
	auto client = connect();
	auto sem = client.createSemaphore("jobs", 3);
	ASSERT_TRUE(sem) << sem.error().message;
	ASSERT_TRUE(sem->acquire(1, 5s));

	auto status = client.status(ObjectKind::Semaphore, "jobs");
	ASSERT_TRUE(status) << status.error().message;
	EXPECT_EQ(status->path, "/io/github/ipchub1/semaphore/jobs");
	EXPECT_EQ(status->key, "jobs");
	EXPECT_EQ(propertyOf(*status, "Value"), "2");
	EXPECT_EQ(propertyOf(*status, "Holders"), "(" + client.uniqueName() + ",1)");

	// The non-persistent object this connection created is still there, the unit
	// still held by it, and a second status reads the same.
	EXPECT_EQ(sem->value().value_or(99), 2u);
	auto holders = sem->holders();
	ASSERT_TRUE(holders) << holders.error().message;
	ASSERT_EQ(holders->size(), 1u);
	EXPECT_EQ((*holders)[0].uniqueName, client.uniqueName());
	EXPECT_EQ((*holders)[0].units, 1u);
	auto other = connect();
	auto seen = other.openSemaphore("jobs");
	ASSERT_TRUE(seen) << seen.error().message;
	EXPECT_FALSE(seen->tryAcquire(3).value_or(true));
	auto again = client.status(ObjectKind::Semaphore, "jobs");
	ASSERT_TRUE(again) << again.error().message;
	EXPECT_EQ(propertyOf(*again, "Value"), "2");
}

TEST_F(ClientStatusTest, SemaphoreOpenedByTheCallerKeepsItsUnits)
{
	auto creator = connect();
	auto sem = creator.createSemaphore("jobs", 2);
	ASSERT_TRUE(sem) << sem.error().message;
	auto client = connect();
	auto opened = client.openSemaphore("jobs");
	ASSERT_TRUE(opened) << opened.error().message;
	ASSERT_TRUE(opened->acquire(2, 5s));

	auto status = client.status(ObjectKind::Semaphore, "jobs");
	ASSERT_TRUE(status) << status.error().message;
	EXPECT_EQ(propertyOf(*status, "Value"), "0");
	EXPECT_EQ(sem->value().value_or(99), 0u);
	EXPECT_FALSE(sem->tryAcquire(1).value_or(true));
}

TEST_F(ClientStatusTest, LockStaysHeld)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock) << lock.error().message;
	auto held = lock->acquire(LockMode::Exclusive, 5s);
	ASSERT_TRUE(held) << held.error().message;

	auto status = client.status(ObjectKind::Lock, "db");
	ASSERT_TRUE(status) << status.error().message;
	EXPECT_EQ(propertyOf(*status, "Mode"), "exclusive");
	EXPECT_EQ(propertyOf(*status, "Token"), std::to_string(held->token()));

	EXPECT_EQ(lock->mode().value_or(LockState::Unlocked), LockState::Exclusive);
	auto other = connect();
	auto seen = other.openLock("db");
	ASSERT_TRUE(seen) << seen.error().message;
	auto denied = seen->acquire(LockMode::Shared, 0us);
	ASSERT_FALSE(denied);
	EXPECT_EQ(denied.error().code, ErrorCode::WouldBlock);
	ASSERT_TRUE(held->release());
	EXPECT_EQ(lock->mode().value_or(LockState::Exclusive), LockState::Unlocked);
}

TEST_F(ClientStatusTest, SharedMemoryStaysAttachedAndLocked)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm) << shm.error().message;
	auto locked = shm->lock(5s);
	ASSERT_TRUE(locked) << locked.error().message;

	auto status = client.status(ObjectKind::SharedMemory, "frame");
	ASSERT_TRUE(status) << status.error().message;
	EXPECT_EQ(propertyOf(*status, "Size"), "4096");
	EXPECT_EQ(propertyOf(*status, "Attachments"), "1");

	EXPECT_EQ(shm->attachments().value_or(0), 1u);
	EXPECT_TRUE(locked->held());
	auto other = connect();
	auto view = other.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view) << view.error().message;
	auto busy = view->lock(0us);
	ASSERT_FALSE(busy);
	EXPECT_EQ(busy.error().code, ErrorCode::WouldBlock);
}

TEST_F(ClientStatusTest, AbsentObjectIsNotFound)
{
	auto client = connect();
	auto missing = client.status(ObjectKind::Semaphore, "nothing");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
	EXPECT_THAT(missing.error().message, HasSubstr("semaphore \"nothing\" does not exist"));

	auto elsewhere = client.status(ObjectKind::Lock, "db", {.scope = "org.example.App"});
	ASSERT_FALSE(elsewhere);
	EXPECT_EQ(elsewhere.error().code, ErrorCode::NotFound);
	EXPECT_THAT(elsewhere.error().message, HasSubstr("in scope org.example.App"));

	// A host key that is an app id names that app's scope node, which holds other
	// objects but is none itself.
	auto app = client.createSemaphore("jobs", 1, {.scope = "org.example.App"});
	ASSERT_TRUE(app) << app.error().message;
	auto node = client.status(ObjectKind::Semaphore, "org.example.App");
	ASSERT_FALSE(node);
	EXPECT_EQ(node.error().code, ErrorCode::NotFound);
	auto inApp = client.status(ObjectKind::Semaphore, "jobs", {.scope = "org.example.App"});
	ASSERT_TRUE(inApp) << inApp.error().message;
	EXPECT_EQ(inApp->scope, "org.example.App");
}

} // namespace
} // namespace ipchub::test
