// SPDX-License-Identifier: LGPL-2.1-or-later
// The shared-memory object and its lock, with no bus: core/shared_memory and
// core/shared_memory_lock.

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/object_table.hpp"
#include "core/shared_memory.hpp"
#include "recording_observer.hpp"

namespace ipchub::core {
namespace {

class SharedMemoryTest : public ::testing::Test
{
protected:
	Limits smallLimits()
	{
		Limits limits;
		limits.sharedMemorySize = 8192;
		limits.bytesPerConnection = 12288;
		return limits;
	}

	Quota quota{smallLimits()};
	ObjectInfo info{{"", "frame"}, {}};
};

TEST_F(SharedMemoryTest, SizesAreCheckedAndCharged)
{
	auto zero = SharedMemory::create(info, 0, ":1.1", quota);
	ASSERT_FALSE(zero);
	EXPECT_EQ(zero.error().code, ErrorCode::InvalidArgument);
	auto big = SharedMemory::create(info, 8193, ":1.1", quota);
	ASSERT_FALSE(big);
	EXPECT_EQ(big.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(big.error().message.find("segment_size is 8192"), std::string::npos);

	auto first = SharedMemory::create(info, 8192, ":1.1", quota);
	ASSERT_TRUE(first);
	auto second = SharedMemory::create(info, 8192, ":1.1", quota);
	ASSERT_FALSE(second);
	EXPECT_NE(second.error().message.find("bytes_per_connection 12288"), std::string::npos);
	(*first)->end({ErrorCode::Cancelled, "removed"});
	EXPECT_TRUE(SharedMemory::create(info, 8192, ":1.1", quota));
}

TEST_F(SharedMemoryTest, BytesComeBackWhenTheSharedMemoryIsDestroyedWithoutEnd)
{
	{
		auto sharedMemory = SharedMemory::create(info, 8192, ":1.1", quota);
		ASSERT_TRUE(sharedMemory);
	}
	EXPECT_TRUE(SharedMemory::create(info, 8192, ":1.1", quota));
}

TEST_F(SharedMemoryTest, AttachHandsOutSealedDescriptorsOfTheRightMode)
{
	auto sharedMemory = SharedMemory::create(info, 4096, ":1.1", quota);
	ASSERT_TRUE(sharedMemory);
	auto rw = (*sharedMemory)->attach(":1.1", true);
	auto ro = (*sharedMemory)->attach(":1.2", false);
	ASSERT_TRUE(rw && ro);
	EXPECT_EQ(fcntl(rw->get(), F_GETFL) & O_ACCMODE, O_RDWR);
	EXPECT_EQ(fcntl(ro->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
	EXPECT_EQ(fcntl(rw->get(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	struct stat status;
	ASSERT_EQ(fstat(ro->get(), &status), 0);
	EXPECT_EQ(status.st_size, 4096);
	EXPECT_EQ(status.st_mode & 0777, 0400u);
	EXPECT_EQ((*sharedMemory)->attachments(), 2u);
	(*sharedMemory)->dropClient(":1.2", true);
	EXPECT_EQ((*sharedMemory)->attachments(), 1u);
}

// The read-only description is opened once and shared; every descriptor of it stays
// read-only, and a writable shared mapping of any of them fails.
TEST_F(SharedMemoryTest, ReadOnlyAttachesShareOneReadOnlyDescription)
{
	auto sharedMemory = SharedMemory::create(info, 4096, ":1.1", quota);
	ASSERT_TRUE(sharedMemory);
	auto first = (*sharedMemory)->attach(":1.2", false);
	auto second = (*sharedMemory)->attach(":1.3", false);
	ASSERT_TRUE(first && second);
	EXPECT_NE(first->get(), second->get());
	for (const auto *fd : {&*first, &*second}) {
		EXPECT_EQ(fcntl(fd->get(), F_GETFL) & O_ACCMODE, O_RDONLY);
		void *writable =
			mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0);
		EXPECT_EQ(writable, MAP_FAILED);
		EXPECT_EQ(errno, EACCES);
	}
	// One description: an offset moved through one descriptor is the other's.
	ASSERT_EQ(lseek(first->get(), 100, SEEK_SET), 100);
	EXPECT_EQ(lseek(second->get(), 0, SEEK_CUR), 100);
	// The read-write descriptor is another description.
	auto rw = (*sharedMemory)->attach(":1.1", true);
	ASSERT_TRUE(rw);
	EXPECT_EQ(lseek(rw->get(), 0, SEEK_CUR), 0);
}

TEST_F(SharedMemoryTest, SealRefusesWritableAttaches)
{
	auto sharedMemory = SharedMemory::create(info, 4096, ":1.1", quota);
	ASSERT_TRUE(sharedMemory);
	CountingEvents events;
	(*sharedMemory)->setEvents(&events);
	ASSERT_TRUE((*sharedMemory)->seal());
	EXPECT_TRUE((*sharedMemory)->sealed());
	EXPECT_EQ(events.changes, 1);
	ASSERT_TRUE((*sharedMemory)->seal());
	EXPECT_EQ(events.changes, 1) << "a second seal changes nothing";
	auto rw = (*sharedMemory)->attach(":1.1", true);
	ASSERT_FALSE(rw);
	EXPECT_EQ(rw.error().code, ErrorCode::PermissionDenied);
	auto ro = (*sharedMemory)->attach(":1.1", false);
	ASSERT_TRUE(ro);
	EXPECT_EQ(fcntl(ro->get(), F_GET_SEALS) & F_SEAL_FUTURE_WRITE, F_SEAL_FUTURE_WRITE);
}

class SharedMemoryLockTest : public ::testing::Test
{
protected:
	Quota quota{Limits{}};
	SharedMemoryLock lock{quota};
};

TEST_F(SharedMemoryLockTest, OneHolderAndFifoWaiters)
{
	ASSERT_TRUE(lock.tryLock(":1.1").value());
	EXPECT_EQ(lock.holder(), ":1.1");
	EXPECT_FALSE(lock.tryLock(":1.2").value());
	EXPECT_EQ(lock.tryLock(":1.1").error().code, ErrorCode::InvalidArgument);

	std::vector<std::string> granted;
	auto second = lock.lock(":1.2", [&](Result<void> r) {
		if (r)
			granted.push_back(":1.2");
	});
	auto third = lock.lock(":1.3", [&](Result<void> r) {
		if (r)
			granted.push_back(":1.3");
	});
	ASSERT_TRUE(second && *second && third && *third);
	EXPECT_EQ(lock.waiters(), 2u);
	EXPECT_FALSE(lock.tryLock(":1.4").value()) << "a try does not jump the queue";

	EXPECT_EQ(lock.unlock(":1.3").error().code, ErrorCode::NotHeld);
	ASSERT_TRUE(lock.unlock(":1.1"));
	EXPECT_EQ(lock.holder(), ":1.2");
	ASSERT_TRUE(lock.unlock(":1.2"));
	EXPECT_EQ(granted, (std::vector<std::string>{":1.2", ":1.3"}));
	EXPECT_EQ(quota.waits(":1.2"), 0u);
}

TEST_F(SharedMemoryLockTest, HolderLeavingPassesTheLockAndCancelledWaitsAreReported)
{
	ASSERT_TRUE(lock.tryLock(":1.1").value());
	std::optional<Result<void>> waiter, closer;
	auto queued = lock.lock(":1.2", [&](Result<void> r) { waiter = r; });
	ASSERT_TRUE(lock.lock(":1.3", [&](Result<void> r) { closer = r; }));
	lock.dropClient(":1.3", true);
	ASSERT_TRUE(closer);
	EXPECT_EQ(closer->error().code, ErrorCode::Cancelled);
	lock.dropClient(":1.1", false);
	ASSERT_TRUE(waiter);
	EXPECT_TRUE(*waiter);
	EXPECT_EQ(lock.holder(), ":1.2");

	std::optional<Result<void>> timed;
	auto id = lock.lock(":1.4", [&](Result<void> r) { timed = r; });
	ASSERT_TRUE(id && *id);
	lock.cancelWait(**id, {ErrorCode::Timeout, "late"});
	ASSERT_TRUE(timed);
	EXPECT_EQ(timed->error().code, ErrorCode::Timeout);
	EXPECT_EQ(lock.waiters(), 0u);
}

TEST_F(SharedMemoryLockTest, WaitersPerObjectLimit)
{
	Limits limits;
	limits.waitersPerObject = 1;
	Quota small(limits);
	SharedMemoryLock limited(small);
	ASSERT_TRUE(limited.tryLock(":1.1").value());
	ASSERT_TRUE(limited.lock(":1.2", [](Result<void>) {}));
	auto refused = limited.lock(":1.3", [](Result<void>) {});
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
}

} // namespace
} // namespace ipchub::core
