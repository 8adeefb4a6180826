// SPDX-License-Identifier: LGPL-2.1-or-later
#include "record_file.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>
#include <zlib.h>

namespace ipchub::core {

namespace {

constexpr std::string_view kMagic = "IPCHUBRF";
constexpr size_t kHeaderBytes = 16;
constexpr uint32_t kBlockMagic = 0x4b4c4252; // "RBLK"
constexpr size_t kBlockHeaderBytes = 8;
constexpr size_t kSlotHeaderBytes = 16;
// The smallest slot (header and payload) and the step of the file's growth.
constexpr size_t kSmallestSlot = 256;
constexpr size_t kGrowthStep = size_t{1} << 20;

Error systemError(const std::string &what, int error)
{
	return {ErrorCode::Failed, what + ": " + std::strerror(error)};
}

uint64_t readLittle(const std::byte *at, size_t size)
{
	uint64_t value = 0;
	for (size_t i = 0; i < size; ++i)
		value |= uint64_t{std::to_integer<uint8_t>(at[i])} << (8 * i);
	return value;
}

void writeLittle(std::byte *at, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; ++i)
		at[i] = static_cast<std::byte>(value >> (8 * i));
}

size_t blockBytes(uint32_t capacity)
{
	return kBlockHeaderBytes + 2 * (kSlotHeaderBytes + capacity);
}

// Over the sequence, the length and the payload: a slot whose header and payload do
// not come from the same write does not match.
uint32_t slotChecksum(const std::byte *slot, uint32_t length)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, reinterpret_cast<const Bytef *>(slot), 12);
	crc = crc32(crc, reinterpret_cast<const Bytef *>(slot + kSlotHeaderBytes), length);
	return static_cast<uint32_t>(crc);
}

} // namespace

Result<RecordScan> scanRecords(std::span<const std::byte> bytes)
{
	if (bytes.size() < kHeaderBytes ||
	    std::memcmp(bytes.data(), kMagic.data(), kMagic.size()) != 0)
		return fail(ErrorCode::InvalidArgument, "not an ipchub record file (no magic)");
	const auto version = static_cast<uint32_t>(readLittle(bytes.data() + 8, 4));
	if (version != kRecordFileVersion)
		return fail(ErrorCode::InvalidArgument,
			    "record file version " + std::to_string(version) +
				    "; this ipchubd reads " + std::to_string(kRecordFileVersion));
	RecordScan scan;
	size_t at = kHeaderBytes;
	while (bytes.size() - at >= kBlockHeaderBytes) {
		const std::byte *block = bytes.data() + at;
		if (readLittle(block, 4) != kBlockMagic)
			break;
		const auto capacity = static_cast<uint32_t>(readLittle(block + 4, 4));
		if (capacity == 0 || blockBytes(capacity) > bytes.size() - at)
			return fail(ErrorCode::InvalidArgument,
				    "a block of capacity " + std::to_string(capacity) +
					    " at byte " + std::to_string(at) + " does not fit");
		std::optional<RecordVersion> newest;
		for (int slot = 0; slot < 2; ++slot) {
			const std::byte *header =
				block + kBlockHeaderBytes + slot * (kSlotHeaderBytes + capacity);
			const uint64_t sequence = readLittle(header, 8);
			const auto length = static_cast<uint32_t>(readLittle(header + 8, 4));
			if (sequence == 0)
				continue; // never written
			if (length > capacity ||
			    readLittle(header + 12, 4) != slotChecksum(header, length)) {
				++scan.rejectedSlots;
				continue;
			}
			if (!newest || sequence > newest->sequence)
				newest = RecordVersion{sequence,
						       {reinterpret_cast<const char *>(
								header + kSlotHeaderBytes),
							length}};
		}
		if (newest && !newest->payload.empty())
			scan.records.push_back(*newest);
		at += blockBytes(capacity);
	}
	return scan;
}

Result<RecordFile> RecordFile::create(size_t maxBytes)
{
	UniqueFd fd(memfd_create("ipchub-state", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd)
		return detail::Unexpected<Error>(systemError("memfd_create", errno));
	// It only grows: a shrink would turn the mapping into SIGBUS.
	if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK) < 0)
		return detail::Unexpected<Error>(systemError("adding F_SEAL_SHRINK", errno));
	const size_t initial = std::min(kGrowthStep, maxBytes);
	if (ftruncate(fd.get(), static_cast<off_t>(initial)) < 0)
		return detail::Unexpected<Error>(
			systemError("ftruncate of the state memfd", errno));
	void *data = mmap(nullptr, initial, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
	if (data == MAP_FAILED)
		return detail::Unexpected<Error>(systemError("mmap of the state memfd", errno));
	auto *bytes = static_cast<std::byte *>(data);
	std::memcpy(bytes, kMagic.data(), kMagic.size());
	writeLittle(bytes + 8, kRecordFileVersion, 4);
	return RecordFile(std::move(fd), bytes, initial, maxBytes);
}

RecordFile::RecordFile(UniqueFd fd, std::byte *data, size_t mapped, size_t maxBytes)
	: fd_(std::move(fd)), data_(data), mapped_(mapped), maxBytes_(maxBytes), used_(kHeaderBytes)
{
}

RecordFile::RecordFile(RecordFile &&other) noexcept
	: fd_(std::move(other.fd_)), data_(std::exchange(other.data_, nullptr)),
	  mapped_(std::exchange(other.mapped_, 0)), maxBytes_(other.maxBytes_), used_(other.used_),
	  sequence_(other.sequence_), blocks_(std::move(other.blocks_)),
	  free_(std::move(other.free_))
{
}

RecordFile &RecordFile::operator=(RecordFile &&other) noexcept
{
	if (this != &other) {
		if (data_)
			munmap(data_, mapped_);
		fd_ = std::move(other.fd_);
		data_ = std::exchange(other.data_, nullptr);
		mapped_ = std::exchange(other.mapped_, 0);
		maxBytes_ = other.maxBytes_;
		used_ = other.used_;
		sequence_ = other.sequence_;
		blocks_ = std::move(other.blocks_);
		free_ = std::move(other.free_);
	}
	return *this;
}

RecordFile::~RecordFile()
{
	if (data_)
		munmap(data_, mapped_);
}

Result<void> RecordFile::grow(size_t bytes)
{
	if (bytes <= mapped_)
		return {};
	if (bytes > maxBytes_)
		return fail(ErrorCode::LimitExceeded,
			    "the persistent state would take " + std::to_string(bytes) +
				    " bytes; at most " + std::to_string(maxBytes_));
	// In steps, so that growth (ftruncate and mremap) is rare.
	const size_t size =
		std::min(maxBytes_, (bytes + kGrowthStep - 1) / kGrowthStep * kGrowthStep);
	// The same memfd grows: the copy the service manager keeps grows with it.
	if (ftruncate(fd_.get(), static_cast<off_t>(size)) < 0)
		return detail::Unexpected<Error>(systemError("growing the state memfd", errno));
	void *moved = mremap(data_, mapped_, size, MREMAP_MAYMOVE);
	if (moved == MAP_FAILED)
		return detail::Unexpected<Error>(systemError("mremap of the state memfd", errno));
	data_ = static_cast<std::byte *>(moved);
	mapped_ = size;
	return {};
}

Result<RecordFile::RecordId> RecordFile::allocate(size_t payloadBytes)
{
	const size_t slot = std::bit_ceil(std::max(kSmallestSlot, kSlotHeaderBytes + payloadBytes));
	if (slot > UINT32_MAX)
		return fail(ErrorCode::LimitExceeded,
			    "a record of " + std::to_string(payloadBytes) + " bytes");
	const auto capacity = static_cast<uint32_t>(slot - kSlotHeaderBytes);
	if (auto spare = free_.find(capacity); spare != free_.end() && !spare->second.empty()) {
		const RecordId id = spare->second.back();
		spare->second.pop_back();
		return id;
	}
	const size_t end = used_ + blockBytes(capacity);
	// One block header's worth of zeros stays after the last block: it ends the scan.
	if (auto grown = grow(end + kBlockHeaderBytes); !grown)
		return errorOf(grown);
	const RecordId id = used_;
	// Both slots read as never written (sequence 0) until their first write: the file
	// is all zeros past the last block.
	writeLittle(data_ + id + 4, capacity, 4);
	writeLittle(data_ + id, kBlockMagic, 4);
	used_ = end;
	blocks_.emplace(id, Block{capacity, 1});
	return id;
}

void RecordFile::writeSlot(RecordId id, Block &block, std::string_view payload)
{
	const int slot = 1 - block.current;
	std::byte *header =
		data_ + id + kBlockHeaderBytes + slot * (kSlotHeaderBytes + block.capacity);
	writeLittle(header, ++sequence_, 8);
	writeLittle(header + 8, payload.size(), 4);
	// An empty payload's data() may be null, which memcpy may not be given.
	if (!payload.empty())
		std::memcpy(header + kSlotHeaderBytes, payload.data(), payload.size());
	writeLittle(header + 12, slotChecksum(header, static_cast<uint32_t>(payload.size())), 4);
	block.current = slot;
}

Result<RecordFile::RecordId> RecordFile::add(std::string_view payload)
{
	auto id = allocate(payload.size());
	if (!id)
		return id;
	writeSlot(*id, blocks_.at(*id), payload);
	return id;
}

Result<RecordFile::RecordId> RecordFile::update(RecordId id, std::string_view payload)
{
	auto block = blocks_.find(id);
	if (block == blocks_.end())
		return fail(ErrorCode::NotFound, "no record at byte " + std::to_string(id));
	if (payload.size() <= block->second.capacity) {
		writeSlot(id, block->second, payload);
		return id;
	}
	// The new version is whole in its new block before the old one ends.
	auto moved = add(payload);
	if (!moved)
		return moved;
	remove(id);
	return moved;
}

void RecordFile::remove(RecordId id)
{
	auto block = blocks_.find(id);
	if (block == blocks_.end())
		return;
	writeSlot(id, block->second, {});
	free_[block->second.capacity].push_back(id);
}

} // namespace ipchub::core
