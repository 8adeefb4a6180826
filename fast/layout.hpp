// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Where each word of a fast page lies. The sizes (reader slots, units, attach slots)
// come from ipchubd's own table, and reach the library with the page: nothing here
// reads a size or an index from the page itself, which any client of it can write.
//
// Lock page:       [0] lock word (own cache line) | [64] fencing token counter, 64-bit
//                  (own cache line) | [128] reader slots, 4 bytes each
// Semaphore page:  [0] seq, [4] nwait (own cache line) | [64] waiter count per attach
//                  slot, 4 bytes each, rounded up to a cache line | units
// Units are a cache line apart while they are few (two holders of neighbouring units
// do not share a line: the fastest layout measured) and 4 bytes apart past
// kPaddedUnitsMax, so that a large semaphore still fits a few pages.

#include <cstddef>
#include <cstdint>

#include "word.hpp"

static_assert(std::atomic<uint64_t>::is_always_lock_free,
	      "the fencing token counter is shared between processes as a plain word");

namespace ipchub::fast {

inline constexpr size_t kCacheLine = 64;
inline constexpr uint32_t kPaddedUnitsMax = 64;
// Bounds of the sizes a page can be made for: every loop over a page is bounded by them.
inline constexpr uint32_t kMaxReaderSlots = 1024;
inline constexpr uint32_t kMaxUnits = 65536;
inline constexpr uint32_t kMaxAttachSlots = 4096;

struct LockShape {
	uint32_t readerSlots;
};

struct SemaphoreShape {
	uint32_t units;
	uint32_t attachSlots;
};

bool isValid(const LockShape &shape);
bool isValid(const SemaphoreShape &shape);
// Bytes of the page, rounded up to whole pages.
size_t pageSize(const LockShape &shape);
size_t pageSize(const SemaphoreShape &shape);

// The words of a mapped lock page.
class LockView
{
public:
	LockView(void *base, LockShape shape) : base_(static_cast<std::byte *>(base)), shape_(shape)
	{
	}

	Word &word() const { return *reinterpret_cast<Word *>(base_); }
	// The latest fencing token: every grant, on the page or through the bus, adds 1
	// and holds the sum.
	std::atomic<uint64_t> &token() const
	{
		return *reinterpret_cast<std::atomic<uint64_t> *>(base_ + kCacheLine);
	}
	Word &reader(uint32_t index) const
	{
		return reinterpret_cast<Word *>(base_ + 2 * kCacheLine)[index];
	}
	uint32_t readerSlots() const { return shape_.readerSlots; }

private:
	std::byte *base_;
	LockShape shape_;
};

// The words of a mapped semaphore page.
class SemaphoreView
{
public:
	SemaphoreView(void *base, SemaphoreShape shape)
		: base_(static_cast<std::byte *>(base)), shape_(shape)
	{
	}

	Word &seq() const { return *reinterpret_cast<Word *>(base_); }
	Word &nwait() const { return *reinterpret_cast<Word *>(base_ + sizeof(Word)); }
	Word &waiters(uint32_t attach) const
	{
		return reinterpret_cast<Word *>(base_ + kCacheLine)[attach];
	}
	Word &unit(uint32_t index) const
	{
		return *reinterpret_cast<Word *>(base_ + unitsOffset() + index * unitStride());
	}
	uint32_t units() const { return shape_.units; }
	uint32_t attachSlots() const { return shape_.attachSlots; }

	size_t unitStride() const
	{
		return shape_.units <= kPaddedUnitsMax ? kCacheLine : sizeof(Word);
	}
	size_t unitsOffset() const
	{
		const size_t counts = shape_.attachSlots * sizeof(Word);
		return kCacheLine + (counts + kCacheLine - 1) / kCacheLine * kCacheLine;
	}

private:
	std::byte *base_;
	SemaphoreShape shape_;
};

} // namespace ipchub::fast
