// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <fcntl.h>
#include <random>
#include <set>
#include <string>
#include <unistd.h>

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

const FdNames kFdNames{[](const SharedMemory &) { return "shm.0"; },
		       [](const Lock &, uint64_t token) {
			       return "handle." + std::to_string(token);
		       }};

// The read end of a new pipe, standing in for a handle's end.
UniqueFd pipeEnd()
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return {};
	close(fds[1]);
	return UniqueFd(fds[0]);
}

// A hub with one persistent object of each kind and a non-persistent semaphore, held
// by two clients; ":1.2" is "gone" when restoring.
class SnapshotCore : public ::testing::Test
{
protected:
	void SetUp() override
	{
		auto sem = hub.semaphores.create(":1.1", ObjectKey{"", "jobs"}, false, true, [&] {
			return Result<std::shared_ptr<Semaphore>>(
				std::make_shared<Semaphore>(ObjectInfo{{"", "jobs"}, {"org.app"}},
							    5, SemaphoreOptions{7, true},
							    hub.quota));
		});
		ASSERT_TRUE(sem);
		ASSERT_TRUE(*(*sem)->tryAcquire(":1.1", 2));
		ASSERT_TRUE(hub.semaphores.open(":1.2", {"", "jobs"}));
		ASSERT_TRUE(*(*sem)->tryAcquire(":1.2", 1));
		ASSERT_TRUE(hub.semaphores.create(":1.1", {"", "temp"}, false, false, [&] {
			return Result<std::shared_ptr<Semaphore>>(
				std::make_shared<Semaphore>(ObjectInfo{{"", "temp"}, {}}, 1,
							    SemaphoreOptions{}, hub.quota));
		}));
		auto lock = hub.locks.create(":1.2", {"org.app", "db\nx"}, false, true, [&] {
			return Result<std::shared_ptr<Lock>>(
				std::make_shared<Lock>(ObjectInfo{{"org.app", "db\nx"}, {}},
						       hub.quota));
		});
		ASSERT_TRUE(lock);
		for (int i = 0; i < 3; ++i) {
			auto token = (*lock)->tryAcquire({":1.2", 42, "org.app"},
							 LockMode::Exclusive, false);
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
	const auto snapshot = captureSnapshot(hub, kFdNames);
	ASSERT_EQ(snapshot.semaphores.size(), 1u) << "the non-persistent semaphore is not kept";
	auto decoded = decodeSnapshot(encodeSnapshot(snapshot));
	ASSERT_TRUE(decoded) << decoded.error().message;

	Hub restored{limits};
	const RestoreHooks hooks{[](const ClientId &client) { return client == ":1.1"; },
				 [](const std::string &) { return UniqueFd{}; }, nullptr, nullptr};
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

TEST(SnapshotHandles, AHandleEndIsKeptBesideItsGrantAndComesBackWithIt)
{
	Limits limits;
	Hub hub{limits};
	auto created = hub.locks.create(":1.1", {"", "doc"}, false, true, [&] {
		return Result<std::shared_ptr<Lock>>(
			std::make_shared<Lock>(ObjectInfo{{"", "doc"}, {}}, hub.quota));
	});
	ASSERT_TRUE(created);
	Lock &lock = **created;
	const auto kept = lock.tryAcquire({":1.1", 41, ""}, LockMode::Shared, true);
	const auto gone = lock.tryAcquire({":1.2", 42, ""}, LockMode::Shared, true);
	const auto plain = lock.tryAcquire({":1.1", 41, ""}, LockMode::Shared, false);
	ASSERT_TRUE(kept && gone && plain);
	EXPECT_TRUE(lock.keepHandleEnd(*kept, pipeEnd()));
	EXPECT_TRUE(lock.keepHandleEnd(*gone, pipeEnd()));
	EXPECT_FALSE(lock.keepHandleEnd(*plain, pipeEnd())) << "a plain grant has no handle";
	EXPECT_FALSE(lock.keepHandleEnd(99, pipeEnd())) << "no grant 99";

	auto decoded = decodeSnapshot(encodeSnapshot(captureSnapshot(hub, kFdNames)));
	ASSERT_TRUE(decoded) << decoded.error().message;
	ASSERT_EQ(decoded->locks.size(), 1u);
	EXPECT_EQ(decoded->locks[0].handleFdNames,
		  (std::map<uint64_t, std::string>{{*kept, "handle." + std::to_string(*kept)},
						   {*gone, "handle." + std::to_string(*gone)}}));

	Hub restored{limits};
	std::vector<std::string> taken;
	std::vector<std::pair<uint64_t, std::string>> told;
	const RestoreHooks hooks{[](const ClientId &client) { return client == ":1.1"; },
				 [&](const std::string &name) {
					 taken.push_back(name);
					 return pipeEnd();
				 },
				 nullptr,
				 [&](const Lock &, uint64_t token, const std::string &name) {
					 told.emplace_back(token, name);
				 }};
	EXPECT_TRUE(restoreSnapshot(restored, *decoded, hooks).empty());
	auto back = restored.locks.find({"", "doc"});
	ASSERT_TRUE(back);
	EXPECT_EQ(back->grants().size(), 2u) << "the grants of :1.1, which is still there";
	ASSERT_EQ(back->handleEnds().size(), 1u);
	EXPECT_TRUE(back->handleEnds().contains(*kept));
	const std::string keptName = "handle." + std::to_string(*kept);
	EXPECT_EQ(taken, std::vector<std::string>{keptName}) << "the gone holder's end stays out";
	EXPECT_EQ(told, (std::vector<std::pair<uint64_t, std::string>>{{*kept, keptName}}));

	// The end goes with its grant.
	EXPECT_TRUE(back->releaseGrant(*kept));
	EXPECT_TRUE(back->handleEnds().empty());

	// An end the store did not hand back: the grant stays, held by its unique name.
	Hub without{limits};
	const RestoreHooks noEnds{[](const ClientId &client) { return client == ":1.1"; },
				  [](const std::string &) { return UniqueFd{}; }, nullptr, nullptr};
	const auto problems = restoreSnapshot(without, *decoded, noEnds);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_NE(problems[0].find(keptName + ", was not handed back"), std::string::npos)
		<< problems[0];
	auto plainly = without.locks.find({"", "doc"});
	ASSERT_TRUE(plainly);
	EXPECT_TRUE(plainly->holds(*kept));
	EXPECT_TRUE(plainly->handleEnds().empty());
}

TEST(SnapshotVersions, AVersion1SnapshotStillReads)
{
	// One lock with one grant, and no shared-memory object: the grant's handle fd name (an
	// empty string, u32 0) and the lock's fast flag (u8 0, from version 4) come right
	// before the shared-memory object count (u32 0) at the end.
	Snapshot snapshot;
	LockRecord record{ObjectInfo{{"", "doc"}, {}}, {}, 4, {":1.1"}, {}, {}};
	record.grants.push_back({{":1.1", 41, ""}, LockMode::Exclusive, 4, 1000, true});
	snapshot.locks.push_back(record);
	std::string body = encodeSnapshot(snapshot);
	body.resize(body.size() - 8);
	ASSERT_EQ(body.substr(body.size() - 9), std::string(9, '\0'));
	body.erase(body.size() - 9, 5);
	// Before version 3 no owner (u32 uid 0, empty app id) followed the lock's info:
	// magic, version, generation, two counts, scope "" and key "doc", no apps.
	constexpr size_t kOwner = 8 + 4 + 8 + 4 + 4 + 4 + 4 + 3 + 4;
	ASSERT_EQ(body.substr(kOwner, 8), std::string(8, '\0'));
	body.erase(kOwner, 8);
	body[8] = 1;
	auto decoded = decodeSnapshot(withChecksum(body));
	ASSERT_TRUE(decoded) << decoded.error().message;
	ASSERT_EQ(decoded->locks.size(), 1u);
	EXPECT_EQ(decoded->locks[0].owner.appId, "") << "the owner is the object's scope";
	EXPECT_EQ(decoded->locks[0].owner.uid, getuid());
	ASSERT_EQ(decoded->locks[0].grants.size(), 1u);
	EXPECT_TRUE(decoded->locks[0].grants[0].handle);
	EXPECT_TRUE(decoded->locks[0].handleFdNames.empty());
	// A version 2 snapshot cut the same way is broken, and an unknown version refused.
	body[8] = 2;
	EXPECT_FALSE(decodeSnapshot(withChecksum(body)));
	body[8] = 5;
	auto future = decodeSnapshot(withChecksum(body));
	ASSERT_FALSE(future);
	EXPECT_NE(future.error().message.find("reads 1 to 4"), std::string::npos)
		<< future.error().message;
}

TEST(SnapshotVersions, ASharedMemoryKeepsWhetherListedAppsMayWrite)
{
	Snapshot snapshot;
	SharedMemoryRecord record{ObjectInfo{{"", "frame"}, {"org.example.App"}, true},
				  Account{0x5a5b5c5d, ""},
				  64,
				  false,
				  "shm.1",
				  ":1.1",
				  {},
				  {},
				  std::nullopt};
	snapshot.sharedMemories.push_back(record);
	const std::string encoded = encodeSnapshot(snapshot);
	auto decoded = decodeSnapshot(encoded);
	ASSERT_TRUE(decoded) << decoded.error().message;
	ASSERT_EQ(decoded->sharedMemories.size(), 1u);
	EXPECT_TRUE(decoded->sharedMemories[0].info.allowedAppsWrite);

	// Version 2 had no such field (the last byte before the checksum) and no owner
	// (u32 uid, empty app id, after the info): its shared-memory objects read with the default,
	// read only.
	std::string body = encoded.substr(0, encoded.size() - 8);
	ASSERT_EQ(body.back(), '\1');
	body.pop_back();
	const std::string owner("\x5d\x5c\x5b\x5a\0\0\0\0", 8);
	const auto at = body.find(owner);
	ASSERT_NE(at, std::string::npos);
	body.erase(at, owner.size());
	body[8] = 2;
	auto old = decodeSnapshot(withChecksum(body));
	ASSERT_TRUE(old) << old.error().message;
	ASSERT_EQ(old->sharedMemories.size(), 1u);
	EXPECT_FALSE(old->sharedMemories[0].info.allowedAppsWrite);
	EXPECT_EQ(old->sharedMemories[0].info.allowedApps,
		  std::vector<std::string>{"org.example.App"});
}

TEST_F(SnapshotCore, RejectsGarbageWithoutCrashing)
{
	const std::string good = encodeSnapshot(captureSnapshot(hub, kFdNames));
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
			bytes.push_back(
				static_cast<char>(random() % 4 == 0 ? random() : random() % 3));
		if (round % 2 == 0 && bytes.size() >= 12) {
			// Every version it reads.
			bytes[8] = static_cast<char>(1 + (round / 2) % 3);
			bytes[9] = bytes[10] = bytes[11] = 0;
		}
		(void)decodeSnapshot(withChecksum(bytes));
	}
}

} // namespace
} // namespace ipchub::core
