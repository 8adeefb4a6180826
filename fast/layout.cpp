// SPDX-License-Identifier: LGPL-2.1-or-later
#include "layout.hpp"

#include <unistd.h>

namespace ipchub::fast {

namespace {

size_t roundToPages(size_t bytes)
{
	const long page = sysconf(_SC_PAGESIZE);
	const size_t size = page > 0 ? static_cast<size_t>(page) : 4096;
	return (bytes + size - 1) / size * size;
}

} // namespace

bool isValid(const LockShape &shape)
{
	return shape.readerSlots <= kMaxReaderSlots;
}

bool isValid(const SemaphoreShape &shape)
{
	return shape.units >= 1 && shape.units <= kMaxUnits && shape.attachSlots >= 1 &&
	       shape.attachSlots <= kMaxAttachSlots;
}

size_t pageSize(const LockShape &shape)
{
	return roundToPages(2 * kCacheLine + shape.readerSlots * sizeof(Word));
}

size_t pageSize(const SemaphoreShape &shape)
{
	// A view on no memory only computes offsets.
	const SemaphoreView view(nullptr, shape);
	return roundToPages(view.unitsOffset() + shape.units * view.unitStride());
}

} // namespace ipchub::fast
