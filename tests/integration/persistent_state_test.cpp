// SPDX-License-Identifier: LGPL-2.1-or-later
// The persistent state across kill -9 of ipchubd, from the fd store: kept in place in
// one memfd (no message to the store per change), a torn record falling back to its
// previous version, a full store refusing instead of losing, tokens never repeated.

#include <algorithm>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>

#include "bus_fixture.hpp"
#include "core/record_file.hpp"
#include "fd_store_manager.hpp"

namespace ipchub::test {
namespace {

class PersistentStateTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		stopDaemon();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
	}

	void start(const std::vector<std::string> &args = {})
	{
		daemon_ = manager_.startDaemon(args);
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd with NOTIFY_SOCKET";
	}

	void restart(const std::vector<std::string> &args = {})
	{
		daemon_.kill();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		start(args);
	}

	size_t kept(const std::string &prefix)
	{
		const auto names = manager_.names();
		return static_cast<size_t>(
			std::count_if(names.begin(), names.end(),
				      [&](const auto &name) { return name.starts_with(prefix); }));
	}

	std::string recordsName()
	{
		for (const auto &name : manager_.names())
			if (name.starts_with("records."))
				return name;
		return {};
	}

	FdStoreManager manager_;
	Child daemon_;
};

TEST_F(PersistentStateTest, ChangesAreWrittenInPlaceAndComeBackAfterKill9)
{
	start();
	auto client = connect();
	auto sem = client.createSemaphore("jobs", 5, {.max = 9, .persistent = true});
	auto lock = client.createLock("db", {.persistent = true});
	auto shm = client.createSharedMemory("frame", 4096, {.persistent = true});
	ASSERT_TRUE(sem && lock && shm);
	std::memcpy(shm->data().data(), "kept bytes", 10);
	ASSERT_TRUE(waitFor([&] { return kept("records.") == 1 && kept("shm.") == 1; }));
	const int before = manager_.stored();

	uint64_t token = 0;
	for (int i = 0; i < 200; ++i) {
		auto guard = lock->acquire(LockMode::Exclusive, 1s);
		ASSERT_TRUE(guard) << guard.error().message;
		token = guard->token();
	}
	ASSERT_TRUE(sem->acquire(2, 1s));
	// The store heard of no change: the records are updated in place.
	EXPECT_EQ(manager_.stored(), before) << "a message to the store per change";
	EXPECT_EQ(kept("state."), 0u);

	const std::string oldRecords = recordsName();
	restart();
	EXPECT_EQ(sem->value().value_or(0), 3u);
	auto next = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(next) << next.error().message;
	EXPECT_EQ(next->token(), token + 1) << "tokens go on from the last one granted";
	auto reopened = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(reopened) << reopened.error().message;
	ASSERT_EQ(reopened->constData().size(), 4096u);
	EXPECT_EQ(std::memcmp(reopened->constData().data(), "kept bytes", 10), 0);
	// The state moved to a new memfd, stored before the old one was removed.
	EXPECT_TRUE(waitFor([&] { return kept("records.") == 1 && recordsName() != oldRecords; }))
		<< recordsName();
}

TEST_F(PersistentStateTest, ATokenIsNeverHandedOutTwiceAcrossRestarts)
{
	start();
	auto client = connect();
	auto lock = client.createLock("fence", {.persistent = true});
	ASSERT_TRUE(lock);
	std::vector<uint64_t> tokens;
	for (int round = 0; round < 5; ++round) {
		for (int i = 0; i < 3; ++i) {
			auto guard = lock->acquire(LockMode::Exclusive, 1s);
			ASSERT_TRUE(guard) << "round " << round << ": " << guard.error().message;
			tokens.push_back(guard->token());
		}
		// Killed while the last grant is held: it stays held by the client.
		auto held = lock->acquire(LockMode::Shared, 1s);
		ASSERT_TRUE(held);
		tokens.push_back(held->token());
		restart();
		EXPECT_EQ(lock->mode().value_or(LockState::Unlocked), LockState::Shared);
	}
	for (size_t i = 1; i < tokens.size(); ++i)
		EXPECT_GT(tokens[i], tokens[i - 1]) << "token " << i;
}

TEST_F(PersistentStateTest, ATornRecordFallsBackToItsPreviousVersion)
{
	start();
	auto client = connect();
	auto sem = client.createSemaphore("torn", 5, {.max = 9, .persistent = true});
	ASSERT_TRUE(sem);
	ASSERT_TRUE(sem->acquire(1, 1s)); // value 4: the previous version
	ASSERT_TRUE(sem->acquire(2, 1s)); // value 2: the newest, to be torn
	daemon_.kill();
	ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));

	// The newest version of the one record, damaged as a write cut short leaves it.
	const int fd = manager_.fd(recordsName());
	ASSERT_GE(fd, 0);
	struct stat status {
	};
	ASSERT_EQ(fstat(fd, &status), 0);
	const auto size = static_cast<size_t>(status.st_size);
	void *mapped = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(mapped, MAP_FAILED);
	auto *bytes = static_cast<std::byte *>(mapped);
	auto scan = core::scanRecords({bytes, size});
	ASSERT_TRUE(scan) << scan.error().message;
	ASSERT_EQ(scan->records.size(), 1u);
	const auto &newest = scan->records.front();
	const auto at = reinterpret_cast<const std::byte *>(newest.payload.data()) - bytes;
	bytes[at + newest.payload.size() - 3] ^= std::byte{0x40};
	munmap(mapped, size);

	start();
	EXPECT_EQ(sem->value().value_or(0), 4u) << "the version before the torn one";
	EXPECT_TRUE(sem->release(1));
	EXPECT_EQ(sem->value().value_or(0), 5u);
}

TEST_F(PersistentStateTest, AFullStoreRefusesInsteadOfLosingTheState)
{
	// Six places: the records, one kept free for moving them, four for objects.
	manager_.setMax(6);
	start({"--fd-store-max=6"});
	auto client = connect();
	const auto limits = gdbusCall("/io/github/ipchub1", "org.freedesktop.DBus.Properties.Get",
				      {"'io.github.ipchub1.Manager'", "'Limits'"});
	EXPECT_NE(limits.out.find("'fd_store_max': <uint32 6>"), std::string::npos) << limits.out;
	std::vector<SharedMemory> sharedMemories;
	for (int i = 0; i < 3; ++i) {
		auto shm = client.createSharedMemory("seg" + std::to_string(i), 4096,
						     {.persistent = true});
		ASSERT_TRUE(shm) << i << ": " << shm.error().message;
		shm->data()[0] = std::byte{static_cast<unsigned char>('a' + i)};
		sharedMemories.push_back(std::move(*shm));
	}
	auto lock = client.createLock("fenced", {.persistent = true});
	ASSERT_TRUE(lock);
	auto handle = lock->acquireHandle(LockMode::Shared, 1s);
	ASSERT_TRUE(handle) << handle.error().message;

	auto refused = client.createSharedMemory("one-too-many", 4096, {.persistent = true});
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded) << refused.error().message;
	EXPECT_NE(refused.error().message.find("fd_store_max is 6"), std::string::npos)
		<< refused.error().message;
	auto refusedHandle = lock->acquireHandle(LockMode::Shared, 1s);
	ASSERT_FALSE(refusedHandle);
	EXPECT_NE(refusedHandle.error().message.find("fd_store_max is 6"), std::string::npos)
		<< refusedHandle.error().message;
	// What the store does not hold is not limited.
	EXPECT_TRUE(client.createSharedMemory("passing", 4096));
	EXPECT_TRUE(client.createLock("plain")->acquireHandle(LockMode::Shared, 1s));
	auto token = lock->token();
	ASSERT_TRUE(token);

	for (int round = 0; round < 2; ++round) {
		restart({"--fd-store-max=6"});
		EXPECT_EQ(manager_.dropped(), 0) << "the store closed what ipchubd sent";
		EXPECT_TRUE(waitFor([&] { return kept("records.") == 1; }));
		for (int i = 0; i < 3; ++i) {
			auto shm = client.openSharedMemory("seg" + std::to_string(i),
							   Access::ReadOnly);
			ASSERT_TRUE(shm)
				<< "round " << round << ", seg" << i << ": " << shm.error().message;
			EXPECT_EQ(shm->constData()[0],
				  std::byte{static_cast<unsigned char>('a' + i)});
		}
		EXPECT_EQ(lock->mode().value_or(LockState::Unlocked), LockState::Shared);
		auto next = client.createSharedMemory("one-too-many", 4096, {.persistent = true});
		EXPECT_FALSE(next) << "still full after the restart";
	}
	handle->close();
	EXPECT_TRUE(waitFor(
		[&] { return lock->mode().value_or(LockState::Shared) == LockState::Unlocked; }));
	// Its place is free again.
	EXPECT_TRUE(waitFor([&] { return kept("handle.") == 0; }));
	auto guard = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(guard);
	EXPECT_GT(guard->token(), *token);
	EXPECT_TRUE(client.createSharedMemory("now-it-fits", 4096, {.persistent = true}));
}

} // namespace
} // namespace ipchub::test
