// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The 32-bit words of a fast page. An owner token is what a word records of its holder:
// the owner id ipchubd gave the connection and the library's slot of the thread.
//
//   lock word   bit 31 WAITERS | bit 30 DIED | bits 29..10 owner id | bits 9..0 slot
//               or, held in shared mode: WAITERS | DIED | bit 29 SHARED | 29-bit version
//   reader slot 0 (free) | DIED | token
//   unit        0 (free) | DIED | token | ABSENT (not there: the semaphore's value is
//               below its max, or the unit was consumed)
//
// Owner ids are never 0 and stay below 2^19, so a token is never 0 and bit 29 of an
// exclusive holder's word is always clear: the top half of the owner field marks shared
// mode. TIDs are never stored: they repeat across PID namespaces.

#include <atomic>
#include <cstdint>

namespace ipchub::fast {

using Word = std::atomic<uint32_t>;
static_assert(sizeof(Word) == sizeof(uint32_t) && Word::is_always_lock_free,
	      "page words are shared between processes as plain 32-bit words");

inline constexpr uint32_t kWaiters = 1u << 31;
inline constexpr uint32_t kDied = 1u << 30;
inline constexpr uint32_t kShared = 1u << 29;
inline constexpr uint32_t kTokenMask = (1u << 30) - 1;
inline constexpr uint32_t kVersionMask = kShared - 1;

inline constexpr unsigned kSlotBits = 10;
inline constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
inline constexpr uint32_t kMaxSlots = 1u << kSlotBits;
// Highest owner id + 1: ids 1..kOwnerLimit-1.
inline constexpr uint32_t kOwnerLimit = 1u << 19;

constexpr uint32_t makeToken(uint32_t owner, uint32_t slot)
{
	return owner << kSlotBits | (slot & kSlotMask);
}

// The owner id a word records; 0 when free, DIED or held in shared mode.
constexpr uint32_t ownerOf(uint32_t word)
{
	if (word & kShared)
		return 0;
	return (word & kTokenMask) >> kSlotBits;
}

// A unit that is not there: neither free nor a token (an exclusive token never has
// SHARED set). A post makes it free; an acquire that consumes makes a free one ABSENT.
inline constexpr uint32_t kAbsent = kDied | kShared;

// Whether a unit or reader slot can be taken: free, or given back by recovery.
constexpr bool isFreeSlot(uint32_t value)
{
	return value == 0 || value == kDied;
}

} // namespace ipchub::fast
