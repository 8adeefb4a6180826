// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ipchub::core {

// Records kept in place in one memfd, each updated on its own and crash-consistent:
// a write cut short anywhere (the writer killed in the middle) leaves the record's
// previous version readable.
//
// Little endian. A 16-byte header ("IPCHUBRF", u32 version, u32 0), then blocks up to
// the first one whose magic is 0 (the file grows with ftruncate, which reads as 0):
//   u32 "RBLK", u32 capacity, then two slots, each
//   u64 sequence, u32 length, u32 CRC-32 (zlib) of sequence, length and payload,
//   capacity bytes of payload.
// A new version goes to the slot that does not hold the current one, with a sequence
// above every other in the file; the reader takes the slot of each block with the
// larger sequence among those whose checksum matches. A version of length 0 ends the
// record (the block is free). A record that outgrows its block moves to a larger one:
// its new version is written there before the old block is freed, so for a moment
// both hold a version and the larger sequence is the newer.
inline constexpr uint32_t kRecordFileVersion = 1;

// One readable record: the newest version of a block.
struct RecordVersion {
	uint64_t sequence;
	std::string_view payload;
};

struct RecordScan {
	std::vector<RecordVersion> records;
	// Slots whose checksum did not match: a torn write, or damage.
	size_t rejectedSlots = 0;
};

// Reads a record file's bytes; never reads past them. InvalidArgument if they are not
// a record file of a version this ipchubd reads.
Result<RecordScan> scanRecords(std::span<const std::byte> bytes);

// The writer: owns the memfd and its mapping.
class RecordFile
{
public:
	using RecordId = uint64_t;

	// A new, empty file in a new memfd of at most maxBytes.
	static Result<RecordFile> create(size_t maxBytes);
	RecordFile(RecordFile &&other) noexcept;
	RecordFile &operator=(RecordFile &&other) noexcept;
	RecordFile(const RecordFile &) = delete;
	RecordFile &operator=(const RecordFile &) = delete;
	~RecordFile();

	const UniqueFd &fd() const { return fd_; }
	std::span<const std::byte> bytes() const { return {data_, used_}; }

	// Writes a new record; LimitExceeded when the file would pass maxBytes.
	Result<RecordId> add(std::string_view payload);
	// Writes a new version of the record; it may move: returns where it is now.
	Result<RecordId> update(RecordId id, std::string_view payload);
	// Ends the record; its block is reused.
	void remove(RecordId id);

private:
	struct Block {
		uint32_t capacity;
		// The slot that holds the current version.
		int current;
	};

	RecordFile(UniqueFd fd, std::byte *data, size_t mapped, size_t maxBytes);
	Result<RecordId> allocate(size_t payloadBytes);
	Result<void> grow(size_t bytes);
	void writeSlot(RecordId id, Block &block, std::string_view payload);

	UniqueFd fd_;
	std::byte *data_ = nullptr;
	size_t mapped_ = 0;
	size_t maxBytes_ = 0;
	// The end of the last block.
	size_t used_ = 0;
	uint64_t sequence_ = 0;
	std::unordered_map<RecordId, Block> blocks_;
	// Free blocks by capacity.
	std::unordered_map<uint32_t, std::vector<RecordId>> free_;
};

} // namespace ipchub::core
