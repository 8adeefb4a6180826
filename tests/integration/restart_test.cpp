// SPDX-License-Identifier: LGPL-2.1-or-later
// Lock handles across a restart of ipchubd from the fd store: the service's end of a
// handle's pipe is kept beside the snapshot, so closing the handle still ends the
// grant after the restart, and a handle closed while ipchubd was away ends it at once.

#include <algorithm>
#include <cstring>
#include <string_view>

#include "bus_fixture.hpp"
#include "fd_store_manager.hpp"

namespace ipchub::test {
namespace {

class RestartTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		stopDaemon();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd with NOTIFY_SOCKET";
		client_.emplace(connect());
		auto lock = client_->createLock("doc", {.persistent = true});
		ASSERT_TRUE(lock) << lock.error().message;
		lock_.emplace(std::move(*lock));
	}

	void restart(const std::vector<std::string> &args = {})
	{
		daemon_.kill();
		daemon_ = manager_.startDaemon(args);
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
	}

	// How many handle ends the stand-in service manager keeps.
	size_t keptHandles()
	{
		const auto names = manager_.names();
		return static_cast<size_t>(
			std::count_if(names.begin(), names.end(), [](const auto &name) {
				return name.starts_with("handle.");
			}));
	}

	LockState state() { return lock_->mode().value_or(LockState::Shared); }

	FdStoreManager manager_;
	Child daemon_;
	std::optional<Client> client_;
	std::optional<Lock> lock_;
};

TEST_F(RestartTest, ClosingAHandleReleasesItsLockAfterARestart)
{
	auto handle = lock_->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(handle) << handle.error().message;
	// A handle of a lock that is not persistent is not kept.
	auto passing = client_->createLock("passing");
	ASSERT_TRUE(passing);
	auto passingHandle = passing->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(passingHandle);
	EXPECT_TRUE(waitFor([&] { return keptHandles() == 1; })) << keptHandles();

	restart();
	EXPECT_EQ(state(), LockState::Exclusive);
	auto holders = lock_->holders();
	ASSERT_TRUE(holders) << holders.error().message;
	ASSERT_EQ(holders->size(), 1u);
	EXPECT_EQ(holders->front().token, handle->token());
	EXPECT_EQ(holders->front().uniqueName, client_->uniqueName());
	auto other = connect();
	auto otherLock = other.openLock("doc");
	ASSERT_TRUE(otherLock);
	EXPECT_FALSE(otherLock->tryAcquire(LockMode::Shared).value());

	// No call of the holder: the hang-up of its handle ends the grant.
	handle->close();
	EXPECT_TRUE(waitFor([&] { return state() == LockState::Unlocked; }));
	auto next = otherLock->tryAcquire(LockMode::Exclusive);
	ASSERT_TRUE(next);
	EXPECT_TRUE(next->has_value());
	EXPECT_TRUE(waitFor([&] { return keptHandles() == 0; }))
		<< "the ended grant's end stays kept";
}

TEST_F(RestartTest, AHandleClosedWhileIpchubdWasAwayIsReleasedOnRestart)
{
	auto handle = lock_->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(handle) << handle.error().message;
	ASSERT_TRUE(waitFor([&] { return keptHandles() == 1; }));
	daemon_.kill();
	handle->close();
	daemon_ = manager_.startDaemon();
	ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
	EXPECT_TRUE(waitFor([&] { return state() == LockState::Unlocked; }));
	EXPECT_TRUE(waitFor([&] { return keptHandles() == 0; }));
	auto guard = lock_->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(guard) << guard.error().message;
	EXPECT_GT(guard->token(), handle->token()) << "tokens keep growing";
}

TEST_F(RestartTest, ReleaseEndsARestoredHandleGrantAndItsKeptEnd)
{
	// The library releases a handle by closing it; Release is called by hand.
	RawConnection raw(address());
	auto proxy = sdbus::createProxy(raw.connection(), "io.github.ipchub1", lock_->path());
	sdbus::UnixFd handle;
	uint64_t token = 0;
	proxy->callMethod("AcquireHandle")
		.onInterface("io.github.ipchub1.Lock")
		.withArguments(std::string("shared"), uint64_t{1'000'000})
		.storeResultsTo(handle, token);
	ASSERT_TRUE(waitFor([&] { return keptHandles() == 1; }));
	restart();
	EXPECT_EQ(state(), LockState::Shared);
	proxy->callMethod("Release").onInterface("io.github.ipchub1.Lock");
	EXPECT_EQ(state(), LockState::Unlocked);
	EXPECT_TRUE(waitFor([&] { return keptHandles() == 0; }));
	// The handle is still open and holds nothing.
	EXPECT_GE(handle.get(), 0);
	EXPECT_TRUE(lock_->holders().value().empty());
}

// Restored under smaller limits, persistent objects are kept and count again: a
// shared-memory object past the new bytes_per_connection of its creator, still on the bus, stays
// whole, and the restored objects fill the new persistent_objects_per_uid.
TEST_F(RestartTest, PersistentObjectsRestoredUnderSmallerLimitsAreKeptAndCount)
{
	auto sharedMemory = client_->createSharedMemory("frame", 65536, {.persistent = true});
	ASSERT_TRUE(sharedMemory) << sharedMemory.error().message;
	std::memset(sharedMemory->data().data(), 0x5a, sharedMemory->size());
	auto semaphore = client_->createSemaphore("jobs", 3, {.persistent = true});
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	// A grant's record is written in place before its reply leaves; the records'
	// memfd and the shared-memory object's reach the service manager once.
	ASSERT_TRUE(semaphore->tryAcquire(1).value_or(false));
	ASSERT_TRUE(waitFor([&] {
		const auto names = manager_.names();
		const auto has = [&](std::string_view prefix) {
			return std::any_of(names.begin(), names.end(), [&](const auto &name) {
				return name.starts_with(prefix);
			});
		};
		return has("records.") && has("shm.");
	}));

	restart({"--bytes-per-connection=4K", "--persistent-objects-per-uid=3"});
	auto view = client_->openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view) << view.error().message;
	ASSERT_EQ(view->size(), 65536u);
	EXPECT_EQ(std::to_integer<int>(view->constData()[65535]), 0x5a);
	auto again = client_->openSemaphore("jobs");
	ASSERT_TRUE(again) << again.error().message;
	EXPECT_EQ(again->value().value_or(0), 2u) << "its holder is still on the bus";

	// The lock of SetUp, the shared-memory object and the semaphore: three of three.
	auto more = client_->createLock("more", {.persistent = true});
	ASSERT_FALSE(more);
	EXPECT_EQ(more.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(more.error().message.find("persistent_objects_per_uid is 3"), std::string::npos)
		<< more.error().message;
}

} // namespace
} // namespace ipchub::test
