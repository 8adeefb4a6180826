// SPDX-License-Identifier: LGPL-2.1-or-later
#include "shared_memory_fixture.hpp"

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;

TEST_F(SharedMemoryTest, LockWaitsForTheHolder)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto held = shm->lock(0us);
	ASSERT_TRUE(held) << held.error().message;
	EXPECT_EQ(property(shm->path(), "LockHolder"), "s \"" + client.uniqueName() + "\"");

	Child waiter = forkChild([&] {
		auto other = Client::connect(address());
		auto view = other->openSharedMemory("frame", Access::ReadWrite);
		if (!view)
			return 1;
		auto lock = view->lock(10s);
		if (!lock)
			return 2;
		// The parent gave the lock up after writing this.
		return readText(view->constData(), 0, 4) == "done" ? 0 : 3;
	});
	ASSERT_TRUE(waitFor([&] { return property(shm->path(), "LockWaiters") == "u 1"; }));
	EXPECT_EQ(waiter.wait(100ms), -1) << "the waiter got the lock while it was held";
	writeText(shm->data(), 0, "done");
	ASSERT_TRUE(held->unlock());
	EXPECT_EQ(waiter.wait(), 0);
}

TEST_F(SharedMemoryTest, LockTimesOutOrWouldBlockWhileHeld)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	Signal locked;
	Child holder = forkChild([&] {
		auto other = Client::connect(address());
		auto view = other->openSharedMemory("frame", Access::ReadOnly);
		auto lock = view ? view->lock(0us) : fail(ErrorCode::Failed, "");
		if (!lock)
			return 1;
		locked.raise();
		pause();
		return 0;
	});
	ASSERT_TRUE(locked.await());

	const auto start = std::chrono::steady_clock::now();
	auto timed = shm->lock(200ms);
	const auto waited = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(timed);
	EXPECT_EQ(timed.error().code, ErrorCode::Timeout);
	EXPECT_GE(waited, 200ms);
	EXPECT_LT(waited, 5s);

	auto once = shm->lock(0us);
	ASSERT_FALSE(once);
	EXPECT_EQ(once.error().code, ErrorCode::WouldBlock);
	EXPECT_EQ(property(shm->path(), "LockWaiters"), "u 0");
}

TEST_F(SharedMemoryTest, UnlockWithoutTheLockIsNotHeldAndLockIsNotRecursive)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto unlocked = gdbusCall(shm->path(), "io.github.ipchub1.SharedMemory.Unlock", {});
	EXPECT_NE(unlocked.status, 0);
	EXPECT_THAT(unlocked.err, HasSubstr("io.github.ipchub1.Error.NotHeld"));

	auto held = shm->lock(1s);
	ASSERT_TRUE(held);
	auto twice = shm->lock(1s);
	ASSERT_FALSE(twice);
	EXPECT_EQ(twice.error().code, ErrorCode::InvalidArgument);
	ASSERT_TRUE(held->unlock());
	EXPECT_FALSE(held->held());
	EXPECT_EQ(property(shm->path(), "LockHolder"), "s \"\"");
}

TEST_F(SharedMemoryTest, KilledHolderPassesTheLockToTheWaiter)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	Signal locked;
	Child holder = forkChild([&] {
		auto other = Client::connect(address());
		auto view = other->openSharedMemory("frame", Access::ReadWrite);
		auto lock = view ? view->lock(0us) : fail(ErrorCode::Failed, "");
		if (!lock)
			return 1;
		locked.raise();
		pause();
		return 0;
	});
	ASSERT_TRUE(locked.await());
	Child waiter = forkChild([&] {
		auto other = Client::connect(address());
		auto view = other->openSharedMemory("frame", Access::ReadWrite);
		return view && view->lock(10s) ? 0 : 1;
	});
	ASSERT_TRUE(waitFor([&] { return property(shm->path(), "LockWaiters") == "u 1"; }));
	EXPECT_EQ(waiter.wait(100ms), -1) << "the waiter got the lock while it was held";
	holder.kill(SIGKILL);
	EXPECT_EQ(waiter.wait(), 0);
}

} // namespace
} // namespace ipchub::test
