// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_semaphore.hpp"

#include <map>

#include "fast/recovery.hpp"
#include "fast/semaphore.hpp"
#include "fast_recovery_switch.hpp"

namespace ipchub::core {

namespace {

constexpr uint32_t kServiceSlot = 0;

// Never below 0: a client of the page may have written anything there.
void decrementClamped(fast::Word &count)
{
	uint32_t value = count.load(std::memory_order_relaxed);
	for (int attempt = 0; attempt < 64 && value != 0; ++attempt)
		if (count.compare_exchange_weak(value, value - 1, std::memory_order_seq_cst))
			return;
}

} // namespace

FastSemaphore::FastSemaphore(std::unique_ptr<FastPage> page, fast::SemaphoreShape shape,
			     bool consumes, FastOwners &owners)
	: page_(std::move(page)), shape_(shape), view_(page_->base(), shape), consumes_(consumes),
	  owners_(owners)
{
}

Result<std::unique_ptr<FastSemaphore>> FastSemaphore::create(const std::string &name,
							     uint32_t units, uint32_t initial,
							     bool consumes, FastOwners &owners)
{
	const fast::SemaphoreShape shape{units, kAttachSlots};
	if (!fast::isValid(shape))
		return fail(ErrorCode::InvalidArgument,
			    "max is " + std::to_string(units) + "; a fast semaphore has 1 to " +
				    std::to_string(fast::kMaxUnits) + " units");
	auto page = FastPage::create(name, fast::pageSize(shape), kAttachSlots);
	if (!page)
		return errorOf(page);
	auto made = std::unique_ptr<FastSemaphore>(
		new FastSemaphore(std::move(*page), shape, consumes, owners));
	fast::initUnits(made->view_, initial);
	return made;
}

uint32_t FastSemaphore::tokenOf(uint32_t owner) const
{
	return consumes_ ? fast::kAbsent : fast::makeToken(owner, kServiceSlot);
}

Result<FastSemaphore::Attached> FastSemaphore::attach(const ClientId &client,
						      const std::string &what)
{
	auto owner = owners_.ownerFor(client);
	if (!owner)
		return errorOf(owner);
	auto slot = page_->attach(client, what);
	if (!slot)
		return errorOf(slot);
	return Attached{*owner, *slot};
}

Result<bool> FastSemaphore::take(const ClientId &client, uint32_t n)
{
	auto owner = owners_.ownerFor(client);
	if (!owner)
		return errorOf(owner);
	const uint32_t token = tokenOf(*owner);
	std::vector<uint32_t> taken;
	for (uint32_t i = 0; i < view_.units() && taken.size() < n; ++i) {
		uint32_t value = view_.unit(i).load(std::memory_order_relaxed);
		if (fast::isFreeSlot(value) &&
		    view_.unit(i).compare_exchange_strong(value, token, std::memory_order_seq_cst))
			taken.push_back(i);
	}
	if (taken.size() == n)
		return true;
	// All or none: the units taken go back (a consumed one as a post).
	for (uint32_t index : taken) {
		if (consumes_)
			(void)fast::post(view_);
		else
			(void)fast::release(view_, index, token);
	}
	return false;
}

Result<void> FastSemaphore::give(const ClientId &client, uint32_t n)
{
	std::vector<uint32_t> held;
	if (!consumes_)
		if (auto owner = owners_.find(client)) {
			const uint32_t token = tokenOf(*owner);
			for (uint32_t i = 0; i < view_.units() && held.size() < n; ++i)
				if (view_.unit(i).load(std::memory_order_relaxed) == token)
					held.push_back(i);
		}
	const uint32_t posts = n - static_cast<uint32_t>(held.size());
	if (const uint32_t absent = fast::absentUnits(view_); posts > absent)
		return fail(ErrorCode::LimitExceeded,
			    "releasing " + std::to_string(n) +
				    " units would bring the value past max " +
				    std::to_string(view_.units()) + ": the caller holds " +
				    std::to_string(held.size()) + " and " + std::to_string(absent) +
				    " more fit");
	for (uint32_t index : held)
		(void)fast::release(view_, index, tokenOf(*owners_.find(client)));
	for (uint32_t i = 0; i < posts; ++i)
		if (!fast::post(view_))
			// A client of the page filled it meanwhile.
			return fail(ErrorCode::LimitExceeded,
				    "the value reached max " + std::to_string(view_.units()) +
					    " after " + std::to_string(held.size() + i) + " units");
	return {};
}

void FastSemaphore::recover(const ClientId &client)
{
	if (fastRecoveryDisabled()) {
		page_->detach(client);
		return;
	}
	const auto owner = owners_.find(client);
	const auto attach = page_->attachOf(client);
	if (owner)
		fast::recoverSemaphore(view_, *owner, attach.value_or(shape_.attachSlots));
	page_->detach(client);
}

uint32_t FastSemaphore::value() const
{
	return fast::freeUnits(view_);
}

uint32_t FastSemaphore::pageWaiters() const
{
	const uint32_t all = view_.nwait().load(std::memory_order_relaxed);
	const uint32_t own = waiting_ ? 1 : 0;
	return all > own ? all - own : 0;
}

std::vector<std::pair<ClientId, uint32_t>> FastSemaphore::holders() const
{
	std::map<ClientId, uint32_t> byClient;
	for (uint32_t i = 0; i < view_.units(); ++i) {
		const uint32_t value = view_.unit(i).load(std::memory_order_relaxed);
		if (value == fast::kAbsent)
			continue;
		if (const uint32_t owner = fast::ownerOf(value))
			if (const ClientId *client = owners_.clientOf(owner))
				byClient[*client]++;
	}
	return {byClient.begin(), byClient.end()};
}

uint32_t FastSemaphore::heldBy(const ClientId &client) const
{
	const auto owner = owners_.find(client);
	if (!owner)
		return 0;
	uint32_t held = 0;
	for (uint32_t i = 0; i < view_.units(); ++i) {
		const uint32_t value = view_.unit(i).load(std::memory_order_relaxed);
		if (value != fast::kAbsent && fast::ownerOf(value) == *owner)
			++held;
	}
	return held;
}

void FastSemaphore::setWaiting(bool waiting)
{
	if (waiting == waiting_)
		return;
	waiting_ = waiting;
	if (waiting) {
		view_.waiters(kServiceSlot).fetch_add(1, std::memory_order_seq_cst);
		view_.nwait().fetch_add(1, std::memory_order_seq_cst);
		return;
	}
	decrementClamped(view_.waiters(kServiceSlot));
	decrementClamped(view_.nwait());
	// A wake-up meant for ipchubd, which no longer waits, goes on to a sleeper.
	view_.seq().fetch_add(1, std::memory_order_seq_cst);
	fast::futexWake(view_.seq(), 1);
}

} // namespace ipchub::core
