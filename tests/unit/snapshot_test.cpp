#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "core/hub_snapshot.hpp"

namespace ipchub::core {
namespace {

// The snapshot's checksum (FNV-1a 64, little endian), so that random bodies reach the
// field reader instead of stopping at the checksum.
std::string withChecksum(std::string body)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (unsigned char byte : body) {
		hash ^= byte;
		hash *= 0x100000001b3ULL;
	}
	for (int i = 0; i < 8; ++i)
		body.push_back(static_cast<char>(hash >> (8 * i)));
	return body;
}

// A hub with one persistent object of each kind and a non-persistent semaphore, held
// by two clients; ":1.2" is "gone" when restoring.
class SnapshotCore : public ::testing::Test
{
protected:
	void SetUp() override
	{
		auto sem = hub.semaphores.create(":1.1", ObjectKey{"", "jobs"}, false, true, [&] {
			return Result<std::shared_ptr<Semaphore>>(std::make_shared<Semaphore>(
				ObjectInfo{{"", "jobs"}, {"org.app"}}, 5, SemaphoreOptions{7, true},
				hub.quota));
		});
		ASSERT_TRUE(sem);
		ASSERT_TRUE(*(*sem)->tryAcquire(":1.1", 2));
		ASSERT_TRUE(hub.semaphores.open(":1.2", {"", "jobs"}));
		ASSERT_TRUE(*(*sem)->tryAcquire(":1.2", 1));
		ASSERT_TRUE(hub.semaphores.create(":1.1", {"", "temp"}, false, false, [&] {
			return Result<std::shared_ptr<Semaphore>>(std::make_shared<Semaphore>(
				ObjectInfo{{"", "temp"}, {}}, 1, SemaphoreOptions{}, hub.quota));
		}));
		auto lock = hub.locks.create(":1.2", {"org.app", "db\nx"}, false, true, [&] {
			return Result<std::shared_ptr<Lock>>(
				std::make_shared<Lock>(ObjectInfo{{"org.app", "db\nx"}, {}}, hub.quota));
		});
		ASSERT_TRUE(lock);
		for (int i = 0; i < 3; ++i) {
			auto token = (*lock)->tryAcquire({":1.2", 42, "org.app"}, LockMode::Exclusive, false);
			ASSERT_TRUE(token);
			ASSERT_TRUE((*lock)->release(":1.2"));
		}
		ASSERT_TRUE((*lock)->tryAcquire({":1.2", 42, "org.app"}, LockMode::Shared, false));
		ASSERT_TRUE((*lock)->tryAcquire({":1.1", 41, ""}, LockMode::Shared, false));
	}

	Limits limits;
	Hub hub{limits};
};

TEST_F(SnapshotCore, KeepsPersistentObjectsAndOnlyHoldersStillPresent)
{
	const auto snapshot = captureSnapshot(hub, [](const SharedMemory &) { return "shm.0"; });
	ASSERT_EQ(snapshot.semaphores.size(), 1u) << "the non-persistent semaphore is not kept";
	auto decoded = decodeSnapshot(encodeSnapshot(snapshot));
	ASSERT_TRUE(decoded) << decoded.error().message;

	Hub restored{limits};
	const RestoreHooks hooks{[](const ClientId &client) { return client == ":1.1"; },
				 [](const std::string &) { return UniqueFd{}; }, nullptr};
	EXPECT_TRUE(restoreSnapshot(restored, *decoded, hooks).empty());
	auto sem = restored.semaphores.find({"", "jobs"});
	ASSERT_TRUE(sem);
	EXPECT_EQ(sem->value(), 2u + 1u) << ":1.2 is gone: its unit comes back";
	EXPECT_EQ(sem->max(), 7u);
	EXPECT_EQ(sem->heldBy(":1.1"), 2u);
	EXPECT_EQ(sem->info().allowedApps, std::vector<std::string>{"org.app"});
	EXPECT_TRUE(restored.semaphores.references({"", "jobs"}, ":1.1"));
	EXPECT_FALSE(restored.semaphores.references({"", "jobs"}, ":1.2"));
	EXPECT_FALSE(restored.semaphores.find({"", "temp"}));

	auto lock = restored.locks.find({"org.app", "db\nx"});
	ASSERT_TRUE(lock);
	EXPECT_EQ(lock->token(), 5u);
	ASSERT_EQ(lock->grants().size(), 1u);
	EXPECT_EQ(lock->grants().begin()->second.holder.client, ":1.1");
	auto next = lock->tryAcquire({":1.1", 41, ""}, LockMode::Shared, false);
	ASSERT_TRUE(next);
	EXPECT_GT(*next, 5u) << "tokens keep growing across a restore";
}

TEST_F(SnapshotCore, RejectsGarbageWithoutCrashing)
{
	const std::string good =
		encodeSnapshot(captureSnapshot(hub, [](const SharedMemory &) { return "shm.0"; }));
	ASSERT_TRUE(decodeSnapshot(good));
	ASSERT_TRUE(decodeSnapshot(withChecksum(good.substr(0, good.size() - 8))))
		<< "the test computes the checksum as the service does";
	// Every truncation and every flipped byte is refused.
	for (size_t size = 0; size < good.size(); ++size)
		EXPECT_FALSE(decodeSnapshot(std::string_view(good).substr(0, size))) << size;
	for (size_t i = 0; i < good.size(); ++i) {
		std::string bad = good;
		bad[i] = static_cast<char>(bad[i] ^ 0x5a);
		EXPECT_FALSE(decodeSnapshot(bad)) << "byte " << i;
	}
	// Random bytes behind the magic, with or without a correct checksum: the reader
	// must stop at the first field that does not fit, never read past the end.
	std::mt19937_64 random(8);
	for (int round = 0; round < 20000; ++round) {
		std::string bytes = "IPCHUBST";
		const size_t size = random() % 96;
		for (size_t i = 0; i < size; ++i)
			bytes.push_back(static_cast<char>(random() % 4 == 0 ? random() : random() % 3));
		if (round % 2 == 0 && bytes.size() >= 12) {
			bytes[8] = 1;
			bytes[9] = bytes[10] = bytes[11] = 0;
		}
		(void)decodeSnapshot(withChecksum(bytes));
	}
}

} // namespace
} // namespace ipchub::core
