// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <vector>

#include "core/record_file.hpp"
#include "core/state_records.hpp"

namespace ipchub::core {
namespace {

constexpr size_t kMaxBytes = 64 << 20;

std::vector<std::byte> copy(std::span<const std::byte> bytes)
{
	return {bytes.begin(), bytes.end()};
}

// The payloads of the records that read, in file order.
std::vector<std::string> payloads(std::span<const std::byte> bytes, size_t *rejected = nullptr)
{
	auto scan = scanRecords(bytes);
	EXPECT_TRUE(scan) << scan.error().message;
	std::vector<std::string> found;
	if (!scan)
		return found;
	for (const auto &record : scan->records)
		found.emplace_back(record.payload);
	if (rejected)
		*rejected = scan->rejectedSlots;
	return found;
}

// The bytes that differ between before and after, as [first, last).
std::pair<size_t, size_t> changedRange(const std::vector<std::byte> &before,
				       const std::vector<std::byte> &after)
{
	size_t first = 0;
	while (first < before.size() && before[first] == after[first])
		++first;
	size_t last = before.size();
	while (last > first && before[last - 1] == after[last - 1])
		--last;
	return {first, last};
}

TEST(RecordFile, KeepsEachRecordsNewestVersion)
{
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file) << file.error().message;
	auto a = file->add("alpha-1");
	auto b = file->add("beta-1");
	ASSERT_TRUE(a && b);
	ASSERT_TRUE(file->update(*a, "alpha-2"));
	ASSERT_TRUE(file->update(*a, "alpha-3"));
	EXPECT_EQ(payloads(file->bytes()), (std::vector<std::string>{"alpha-3", "beta-1"}));
	file->remove(*b);
	EXPECT_EQ(payloads(file->bytes()), std::vector<std::string>{"alpha-3"});
	// A freed block is reused.
	auto c = file->add("gamma-1");
	ASSERT_TRUE(c);
	EXPECT_EQ(*c, *b);
	EXPECT_EQ(payloads(file->bytes()), (std::vector<std::string>{"alpha-3", "gamma-1"}));
}

TEST(RecordFile, ATornWriteFallsBackToTheRecordsPreviousVersion)
{
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	auto id = file->add(std::string(100, 'a'));
	ASSERT_TRUE(id);
	ASSERT_TRUE(file->update(*id, std::string(120, 'b')));
	const auto before = copy(file->bytes());
	ASSERT_TRUE(file->update(*id, std::string(90, 'c')));
	const auto after = copy(file->bytes());
	ASSERT_EQ(before.size(), after.size());
	const auto [first, last] = changedRange(before, after);
	ASSERT_LT(first, last);
	// The writer killed after any number of the new version's bytes, written from
	// either end: the record reads as its previous version, whole.
	for (size_t cut = 0; cut < last - first; ++cut) {
		auto torn = before;
		std::memcpy(torn.data() + first, after.data() + first, cut);
		EXPECT_EQ(payloads(torn), std::vector<std::string>{std::string(120, 'b')})
			<< "first " << cut << " bytes written";
		torn = before;
		std::memcpy(torn.data() + last - cut, after.data() + last - cut, cut);
		EXPECT_EQ(payloads(torn), std::vector<std::string>{std::string(120, 'b')})
			<< "last " << cut << " bytes written";
	}
	EXPECT_EQ(payloads(after), std::vector<std::string>{std::string(90, 'c')});
}

TEST(RecordFile, AChecksumMismatchIsDetected)
{
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	auto id = file->add("first version");
	ASSERT_TRUE(id);
	const auto before = copy(file->bytes());
	ASSERT_TRUE(file->update(*id, "second version"));
	const auto after = copy(file->bytes());
	const auto [first, last] = changedRange(before, after);
	// Any single flipped bit of the newest slot: it is rejected, the first version reads.
	for (size_t i = first; i < last; ++i) {
		for (int bit = 0; bit < 8; bit += 3) {
			auto damaged = after;
			damaged[i] ^= std::byte{static_cast<unsigned char>(1u << bit)};
			size_t rejected = 0;
			const auto found = payloads(damaged, &rejected);
			if (found == std::vector<std::string>{"first version"}) {
				EXPECT_EQ(rejected, 1u) << "byte " << i;
				continue;
			}
			// A flip of the sequence's high bits may only make the slot newer still;
			// it never yields a payload that was not written.
			EXPECT_EQ(found, std::vector<std::string>{"second version"})
				<< "byte " << i;
		}
	}
	size_t rejected = 0;
	EXPECT_EQ(payloads(after, &rejected), std::vector<std::string>{"second version"});
	EXPECT_EQ(rejected, 0u);
}

TEST(RecordFile, ATornFirstWriteLeavesNoRecord)
{
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	const auto before = copy(file->bytes());
	ASSERT_TRUE(file->add("only version"));
	const auto after = copy(file->bytes());
	// The block is new: its only version, cut short, leaves nothing.
	auto scan = scanRecords(after);
	ASSERT_TRUE(scan);
	ASSERT_EQ(scan->records.size(), 1u);
	const auto at =
		reinterpret_cast<const std::byte *>(scan->records[0].payload.data()) - after.data();
	auto torn = after;
	torn[static_cast<size_t>(at) + 5] ^= std::byte{1};
	size_t rejected = 0;
	EXPECT_TRUE(payloads(torn, &rejected).empty());
	EXPECT_EQ(rejected, 1u);
	EXPECT_TRUE(payloads(before).empty());
}

TEST(RecordFile, ARecordThatOutgrowsItsBlockMovesAndTheFileGrowsInPlace)
{
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	auto small = file->add("small");
	ASSERT_TRUE(small);
	const int fd = file->fd().get();
	struct stat before {
	};
	ASSERT_EQ(fstat(fd, &before), 0);
	// Larger than the first size step, and than every block so far.
	const std::string big(3 << 20, 'x');
	auto moved = file->update(*small, big);
	ASSERT_TRUE(moved) << moved.error().message;
	EXPECT_NE(*moved, *small);
	struct stat after {
	};
	ASSERT_EQ(fstat(fd, &after), 0);
	EXPECT_GT(after.st_size, before.st_size);
	EXPECT_EQ(file->fd().get(), fd) << "the same memfd grew";
	EXPECT_EQ(payloads(file->bytes()), std::vector<std::string>{big});
	// What the service manager would hand back: the memfd itself, read from scratch.
	void *mapped =
		mmap(nullptr, static_cast<size_t>(after.st_size), PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(mapped, MAP_FAILED);
	EXPECT_EQ(payloads({static_cast<const std::byte *>(mapped),
			    static_cast<size_t>(after.st_size)}),
		  std::vector<std::string>{big});
	munmap(mapped, static_cast<size_t>(after.st_size));
}

TEST(RecordFile, RefusesToGrowPastItsMaximum)
{
	auto file = RecordFile::create(1 << 20);
	ASSERT_TRUE(file);
	auto refused = file->add(std::string(2 << 20, 'x'));
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(refused.error().message.find("at most 1048576"), std::string::npos)
		<< refused.error().message;
}

TEST(RecordFile, RejectsWhatIsNoRecordFile)
{
	const std::string text = "IPCHUBST and more bytes";
	EXPECT_FALSE(scanRecords(std::as_bytes(std::span(text))));
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	ASSERT_TRUE(file->add("x"));
	auto bytes = copy(file->bytes());
	bytes[8] = std::byte{2};
	auto future = scanRecords(bytes);
	ASSERT_FALSE(future);
	EXPECT_NE(future.error().message.find("version 2"), std::string::npos);
	// A block whose capacity runs past the end.
	bytes[8] = std::byte{1};
	bytes[16 + 7] = std::byte{0x7f};
	EXPECT_FALSE(scanRecords(bytes));
	// Every truncation reads without reading past the end.
	const auto whole = copy(file->bytes());
	for (size_t size = 0; size <= whole.size(); ++size)
		(void)scanRecords(std::span(whole).first(size));
}

// The hub's objects through records: one record per object, the newest wins.
TEST(StateRecords, AChangedObjectRewritesItsRecordAlone)
{
	Limits limits;
	Hub hub{limits};
	const FdNames noFds{[](const SharedMemory &) { return std::string("shm.0"); },
			    [](const Lock &, uint64_t) { return std::string(); }};
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	StateRecords records(hub, std::move(*file), noFds);
	for (int i = 0; i < 50; ++i) {
		const ObjectKey id{"", "lock" + std::to_string(i)};
		ASSERT_TRUE(hub.locks.create(":1.1", id, false, true, [&] {
			return Result<std::shared_ptr<Lock>>(
				std::make_shared<Lock>(ObjectInfo{id, {}}, hub.quota));
		}));
		ASSERT_TRUE(records.write(ObjectKind::Lock, id));
	}
	auto lock = hub.locks.find({"", "lock7"});
	const auto before = copy(records.file().bytes());
	ASSERT_TRUE(lock->tryAcquire({":1.1", 1, ""}, LockMode::Exclusive, false));
	ASSERT_TRUE(records.write(ObjectKind::Lock, lock->id()));
	const auto after = copy(records.file().bytes());
	const auto [first, last] = changedRange(before, after);
	EXPECT_LT(last - first, 512u) << "one record's slot, not the file";

	std::vector<std::string> problems;
	auto snapshot = readStateRecords(records.file().bytes(), problems);
	ASSERT_TRUE(snapshot) << snapshot.error().message;
	EXPECT_TRUE(problems.empty());
	ASSERT_EQ(snapshot->locks.size(), 50u);
	for (const auto &record : snapshot->locks)
		EXPECT_EQ(record.lastToken, record.info.id.key == "lock7" ? 1u : 0u)
			<< record.info.id.key;

	// Torn: the grant's version is lost, the lock reads as before it, unlocked.
	auto torn = after;
	torn[(first + last) / 2] ^= std::byte{0x10};
	problems.clear();
	auto fallen = readStateRecords(torn, problems);
	ASSERT_TRUE(fallen);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_NE(problems[0].find("1 record versions did not match"), std::string::npos)
		<< problems[0];
	ASSERT_EQ(fallen->locks.size(), 50u);
	for (const auto &record : fallen->locks)
		EXPECT_EQ(record.lastToken, 0u) << record.info.id.key;

	// Removed: its record ends.
	ASSERT_TRUE(hub.locks.remove({"", "lock7"}));
	ASSERT_TRUE(records.write(ObjectKind::Lock, {"", "lock7"}));
	problems.clear();
	EXPECT_EQ(readStateRecords(records.file().bytes(), problems)->locks.size(), 49u);
}

TEST(StateRecords, TheRecordsTogetherStayWithinStateBytes)
{
	const FdNames noFds{[](const SharedMemory &) { return std::string("shm.0"); },
			    [](const Lock &, uint64_t) { return std::string(); }};
	auto makeLock = [](Hub &hub, const ObjectKey &id) {
		return hub.locks.create(":1.1", id, false, true, [&] {
			return Result<std::shared_ptr<Lock>>(
				std::make_shared<Lock>(ObjectInfo{id, {}}, hub.quota));
		});
	};
	// The size of one unheld lock's record, under the default limits.
	uint64_t one = 0;
	{
		Limits limits;
		Hub hub{limits};
		auto file = RecordFile::create(kMaxBytes);
		ASSERT_TRUE(file);
		StateRecords records(hub, std::move(*file), noFds);
		ASSERT_TRUE(makeLock(hub, {"", "lock0"}));
		ASSERT_TRUE(records.write(ObjectKind::Lock, {"", "lock0"}));
		one = records.payloadBytes();
	}
	// Room for two unheld locks, not for a grant besides.
	Limits limits;
	limits.stateBytes = 2 * one + 8;
	Hub hub{limits};
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	StateRecords records(hub, std::move(*file), noFds);
	for (const char *key : {"lock0", "lock1"}) {
		ASSERT_TRUE(makeLock(hub, {"", key}));
		ASSERT_TRUE(records.write(ObjectKind::Lock, {"", key}));
	}
	EXPECT_EQ(records.payloadBytes(), 2 * one);

	auto lock = hub.locks.find({"", "lock1"});
	ASSERT_TRUE(lock->tryAcquire({":1.1", 1, ""}, LockMode::Exclusive, false));
	auto written = records.write(ObjectKind::Lock, lock->id());
	ASSERT_FALSE(written);
	EXPECT_EQ(written.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(written.error().message.find("state_bytes " + std::to_string(2 * one + 8)),
		  std::string::npos)
		<< written.error().message;
	EXPECT_EQ(records.payloadBytes(), 2 * one);
	// The refused change left the record as it was.
	std::vector<std::string> problems;
	auto snapshot = readStateRecords(records.file().bytes(), problems);
	ASSERT_TRUE(snapshot);
	ASSERT_EQ(snapshot->locks.size(), 2u);
	for (const auto &record : snapshot->locks)
		EXPECT_TRUE(record.grants.empty()) << record.info.id.key;

	// Removing the other lock makes room.
	ASSERT_TRUE(hub.locks.remove({"", "lock0"}));
	ASSERT_TRUE(records.write(ObjectKind::Lock, {"", "lock0"}));
	ASSERT_TRUE(records.write(ObjectKind::Lock, lock->id()));
	snapshot = readStateRecords(records.file().bytes(), problems);
	ASSERT_TRUE(snapshot);
	ASSERT_EQ(snapshot->locks.size(), 1u);
	EXPECT_EQ(snapshot->locks[0].grants.size(), 1u);
}

TEST(StateRecords, OfTwoRecordsOfOneObjectTheNewerWins)
{
	// What a move to a larger block leaves when the writer dies between writing the
	// new block and freeing the old one.
	auto one = [](uint32_t value) {
		Snapshot snapshot;
		snapshot.semaphores.push_back(
			{ObjectInfo{{"", "jobs"}, {}}, {}, value, 9, true, {}, {}});
		return encodeSnapshot(snapshot);
	};
	auto file = RecordFile::create(kMaxBytes);
	ASSERT_TRUE(file);
	ASSERT_TRUE(file->add(one(3)));
	ASSERT_TRUE(file->add(one(5)));
	std::vector<std::string> problems;
	auto snapshot = readStateRecords(file->bytes(), problems);
	ASSERT_TRUE(snapshot);
	ASSERT_EQ(snapshot->semaphores.size(), 1u);
	EXPECT_EQ(snapshot->semaphores[0].value, 5u);
	// A record that is no snapshot is skipped and told.
	ASSERT_TRUE(file->add("garbage"));
	problems.clear();
	snapshot = readStateRecords(file->bytes(), problems);
	ASSERT_TRUE(snapshot);
	EXPECT_EQ(snapshot->semaphores.size(), 1u);
	EXPECT_EQ(problems.size(), 1u);
}

} // namespace
} // namespace ipchub::core
