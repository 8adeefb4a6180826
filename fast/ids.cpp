// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ids.hpp"

#include <mutex>

#include "word.hpp"

namespace ipchub::fast {

RoundRobinIds::RoundRobinIds(uint32_t first, uint32_t limit)
	: used_(limit, false), first_(first), next_(first)
{
}

Result<uint32_t> RoundRobinIds::allocate()
{
	const uint32_t span = static_cast<uint32_t>(used_.size()) - first_;
	for (uint32_t i = 0; i < span; ++i) {
		const uint32_t id = next_;
		next_ = next_ + 1 < used_.size() ? next_ + 1 : first_;
		if (!used_[id]) {
			used_[id] = true;
			++count_;
			return id;
		}
	}
	return fail(Errc::Exhausted);
}

void RoundRobinIds::release(uint32_t id)
{
	if (id >= first_ && id < used_.size() && used_[id]) {
		used_[id] = false;
		--count_;
	}
}

bool RoundRobinIds::inUse(uint32_t id) const
{
	return id < used_.size() && used_[id];
}

OwnerIds::OwnerIds() : RoundRobinIds(1, kOwnerLimit)
{
}

namespace {

std::mutex slotsMutex;
RoundRobinIds &threadSlots()
{
	// From 1: slot 0 is ipchubd's, acting on the page for a connection's bus calls.
	static RoundRobinIds slots(1, kMaxSlots);
	return slots;
}

// Gives the slot back when its thread ends.
struct ThreadSlot {
	Result<uint32_t> slot;

	ThreadSlot()
	{
		std::lock_guard guard(slotsMutex);
		slot = threadSlots().allocate();
	}
	~ThreadSlot()
	{
		if (slot) {
			std::lock_guard guard(slotsMutex);
			threadSlots().release(*slot);
		}
	}
};

} // namespace

Result<uint32_t> currentThreadSlot()
{
	thread_local ThreadSlot mine;
	return mine.slot;
}

} // namespace ipchub::fast
