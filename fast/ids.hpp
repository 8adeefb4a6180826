// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The numbers that make an owner token: ipchubd's owner id per attached connection, and
// the library's slot per thread. Both are handed out round robin and not reused until
// the range wraps, so a number that a dead holder left in a word (or a late release
// still carries) does not name a newcomer soon after.

#include <cstdint>
#include <vector>

#include "error.hpp"

namespace ipchub::fast {

// Numbers first..limit-1, round robin, skipping those still in use. Not thread-safe.
class RoundRobinIds
{
public:
	RoundRobinIds(uint32_t first, uint32_t limit);

	Result<uint32_t> allocate();
	void release(uint32_t id);
	bool inUse(uint32_t id) const;
	uint32_t count() const { return count_; }

private:
	std::vector<bool> used_;
	uint32_t first_;
	uint32_t next_;
	uint32_t count_ = 0;
};

// ipchubd's owner ids: 1..kOwnerLimit-1 (0 would make a token 0, a free word).
class OwnerIds : public RoundRobinIds
{
public:
	OwnerIds();
};

// The calling thread's slot, taken on first use and given back when the thread ends
// (process-wide, thread-safe): 1..kMaxSlots-1, since slot 0 stands for a connection's
// bus calls, which ipchubd makes on the page for it. Exhausted with more than
// kMaxSlots-1 live threads.
Result<uint32_t> currentThreadSlot();

} // namespace ipchub::fast
