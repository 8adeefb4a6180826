// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_semaphore.hpp"

#include <optional>
#include <string>

namespace ipchub::detail {

namespace {

// Where the calling thread last found a free unit: its scans start apart from other
// threads', and its release finds its own unit first.
thread_local uint32_t unitHint = 0;

fast::SemaphoreView viewOf(const FastPage *page)
{
	return fast::SemaphoreView(page->mapping.address(), {page->units, page->attachSlots});
}

void decrementClamped(fast::Word &count)
{
	uint32_t value = count.load(std::memory_order_relaxed);
	while (value != 0 &&
	       !count.compare_exchange_weak(value, value - 1, std::memory_order_seq_cst))
		;
}

// Frees a unit this thread took a moment ago, waking a waiter if one counts itself.
void giveBack(const fast::SemaphoreView &sem, uint32_t index, uint32_t token)
{
	uint32_t expected = token;
	if (sem.unit(index).compare_exchange_strong(expected, 0, std::memory_order_seq_cst) &&
	    sem.nwait().load(std::memory_order_seq_cst) != 0)
		fast::detail::wakeOne(sem);
}

// n units at once into out, or none: the free ones are counted first, so that a waiter
// for more units than are free takes nothing (and wakes nobody) before it sleeps.
bool takeAll(const fast::SemaphoreView &sem, uint32_t n, uint32_t token, FastUnits &out)
{
	const uint32_t units = sem.units();
	uint32_t free = 0;
	for (uint32_t i = 0; i < units && free < n; ++i)
		if (fast::isFreeSlot(sem.unit(i).load(std::memory_order_relaxed)))
			++free;
	if (free < n)
		return false;
	const uint32_t start = unitHint < units ? unitHint : 0;
	std::vector<uint32_t> taken;
	taken.reserve(n);
	bool ownerDied = false;
	for (uint32_t i = 0; i < units && taken.size() < n; ++i) {
		const uint32_t index = (start + i) % units;
		fast::Word &unit = sem.unit(index);
		uint32_t value = unit.load(std::memory_order_relaxed);
		if (fast::isFreeSlot(value) &&
		    unit.compare_exchange_strong(value, token, std::memory_order_seq_cst)) {
			taken.push_back(index);
			ownerDied |= value == fast::kDied;
		}
	}
	if (taken.size() == n) {
		unitHint = taken.front();
		out.count = n;
		out.first = taken.front();
		out.rest.assign(taken.begin() + 1, taken.end());
		out.ownerDied = ownerDied;
		return true;
	}
	// Another taker came between the count and the CAS: give back, look again.
	for (uint32_t index : taken)
		giveBack(sem, index, token);
	return false;
}

Unexpected<Error> fastError(const fast::Error &error, uint32_t n)
{
	switch (error.code) {
	case fast::Errc::WouldBlock:
		return fail(ErrorCode::WouldBlock,
			    "the semaphore has fewer than " + std::to_string(n) + " free units");
	case fast::Errc::Timeout:
		return fail(ErrorCode::Timeout, "the timeout passed before " + std::to_string(n) +
							" units of the semaphore were free");
	default:
		break;
	}
	return fail(fast::errorCode(error.code),
		    "the semaphore's fast page: " + fast::describe(error));
}

} // namespace

Result<FastUnits> FastSemaphore::acquireMany(FastPage *page, uint32_t n,
					     const fast::Deadline &slice, uint32_t token)
{
	const auto sem = viewOf(page);
	FastUnits units;
	if (takeAll(sem, n, token, units))
		return units;
	if (slice.isNone())
		return fastError({fast::Errc::WouldBlock}, n);
	sem.nwait().fetch_add(1, std::memory_order_seq_cst);
	sem.waiters(page->attach).fetch_add(1, std::memory_order_seq_cst);
	bool taken = false;
	for (;;) {
		// seq before the scan: a release after the scan bumps it, and the sleep
		// returns at once.
		const uint32_t seq = sem.seq().load(std::memory_order_seq_cst);
		if ((taken = takeAll(sem, n, token, units)))
			break;
		if (fast::futexWait(sem.seq(), seq, slice) == fast::WaitOutcome::TimedOut) {
			taken = takeAll(sem, n, token, units);
			break;
		}
	}
	decrementClamped(sem.waiters(page->attach));
	decrementClamped(sem.nwait());
	if (!taken)
		return fastError({fast::Errc::Timeout}, n);
	return units;
}

Result<FastUnits> FastSemaphore::acquireOn(FastPage *page, uint32_t n, const fast::Deadline &slice,
					   uint32_t token)
{
	if (n > 1)
		return acquireMany(page, n, slice, token);
	fast::Holder holder{token, page->attach, unitHint};
	auto unit = fast::acquire(viewOf(page), holder, slice);
	unitHint = holder.hint;
	if (!unit)
		return fastError(unit.error(), n);
	FastUnits units;
	units.count = 1;
	units.first = unit->index;
	units.ownerDied = unit->state == fast::Acquired::OwnerDied;
	return units;
}

Result<FastUnits> FastSemaphore::acquire(uint32_t n, std::chrono::microseconds timeout)
{
	auto slot = threadSlot();
	if (!slot)
		return errorOf(slot);
	// The deadline is read from the clock only once a first try found no units.
	std::optional<Deadline> deadline;
	for (;;) {
		auto page = this->page(deadline ? deadline->left() : timeout);
		if (!page)
			return errorOf(page);
		if (n == 0 || n > (*page)->units)
			return fail(ErrorCode::InvalidArgument,
				    "n is " + std::to_string(n) + ": it must be 1 to max (" +
					    std::to_string((*page)->units) + ")");
		const uint32_t token = returnOnExit_ ? fast::makeToken((*page)->owner, *slot)
						     : fast::kAbsent;
		const fast::Deadline slice = !deadline		? fast::Deadline::none()
					     : isTry(*deadline) ? fast::Deadline::none()
								: sliceOf(*deadline);
		auto units = acquireOn(*page, n, slice, token);
		if (units) {
			units->page = *page;
			units->token = token;
			if (!stale(*page)) [[likely]]
				return units;
			// Taken on a page ipchubd left: worth nothing; the new page decides.
			if (returnOnExit_)
				(void)release(*units);
			continue;
		}
		const ErrorCode code = units.error().code;
		if (code != ErrorCode::Timeout && code != ErrorCode::WouldBlock)
			return units;
		if (!deadline) {
			if (timeout.count() <= 0)
				return units;
			deadline = Deadline::after(timeout);
			continue;
		}
		if (deadline->passed())
			return code == ErrorCode::WouldBlock ? fastError({fast::Errc::Timeout}, n)
							     : units;
		// A slice ended: look whether ipchubd left meanwhile, then sleep on.
		checkService();
	}
}

Result<void> FastSemaphore::release(const FastUnits &units)
{
	if (units.token == fast::kAbsent) {
		// Consumed units: a release posts, on the page of now.
		auto bus = releaseCount(units.count);
		if (!bus)
			return errorOf(bus);
		return {};
	}
	const auto sem = viewOf(units.page);
	bool lost = stale(units.page);
	if (units.count > 0 && !fast::release(sem, units.first, units.token))
		lost = true;
	for (uint32_t index : units.rest)
		if (!fast::release(sem, index, units.token))
			lost = true;
	if (lost)
		return fail(ErrorCode::NotHeld,
			    "the units were taken back: the connection or ipchubd went since "
			    "they were acquired");
	return {};
}

Result<uint32_t> FastSemaphore::releaseCount(uint32_t n)
{
	auto page = this->page(std::chrono::microseconds(0));
	if (!page)
		return errorOf(page);
	const auto sem = viewOf(*page);
	uint32_t remaining = n;
	if (returnOnExit_) {
		// This connection's units: the calling thread's first, then any thread's
		// (slot 0 is ipchubd's for the bus path: busHeld below).
		const uint32_t owner = (*page)->owner;
		if (auto slot = threadSlot(); slot && unitHint < sem.units()) {
			uint32_t expected = fast::makeToken(owner, *slot);
			if (sem.unit(unitHint).compare_exchange_strong(expected, 0,
								       std::memory_order_seq_cst)) {
				--remaining;
				if (sem.nwait().load(std::memory_order_seq_cst) != 0)
					fast::detail::wakeOne(sem);
			}
		}
		for (uint32_t i = 0; i < sem.units() && remaining > 0; ++i) {
			uint32_t value = sem.unit(i).load(std::memory_order_relaxed);
			if (value == fast::kAbsent || fast::ownerOf(value) != owner ||
			    (value & fast::kSlotMask) == 0)
				continue;
			if (sem.unit(i).compare_exchange_strong(value, 0,
								std::memory_order_seq_cst)) {
				--remaining;
				if (sem.nwait().load(std::memory_order_seq_cst) != 0)
					fast::detail::wakeOne(sem);
			}
		}
	}
	uint32_t bus = busHeld.load(std::memory_order_relaxed);
	do {
		if (bus == 0)
			break;
	} while (!busHeld.compare_exchange_weak(bus, bus - std::min(bus, remaining)));
	bus = std::min(bus, remaining);
	remaining -= bus;
	for (; remaining > 0; --remaining)
		if (!fast::post(sem))
			return fail(ErrorCode::LimitExceeded,
				    "releasing " + std::to_string(n) +
					    " units would take the semaphore past max (" +
					    std::to_string(sem.units()) + ")");
	return bus;
}

} // namespace ipchub::detail
