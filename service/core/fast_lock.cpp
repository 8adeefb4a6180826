// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_lock.hpp"

#include <climits>

#include "fast/lock.hpp"
#include "fast/recovery.hpp"
#include "fast_recovery_switch.hpp"

namespace ipchub::core {

namespace {

constexpr uint32_t kServiceSlot = 0;
// A live word settles within a few attempts; a scribbled one must not hold ipchubd.
constexpr int kCasAttempts = 64;

} // namespace

FastLock::FastLock(std::unique_ptr<FastPage> page, FastOwners &owners)
	: page_(std::move(page)), view_(page_->base(), {kReaderSlots}), owners_(owners)
{
}

Result<std::unique_ptr<FastLock>> FastLock::create(const std::string &name, uint64_t lastToken,
						   FastOwners &owners)
{
	auto page =
		FastPage::create(name, fast::pageSize(fast::LockShape{kReaderSlots}), kAttachSlots);
	if (!page)
		return errorOf(page);
	auto made = std::unique_ptr<FastLock>(new FastLock(std::move(*page), owners));
	made->lastToken_ = lastToken;
	made->view_.token().store(lastToken, std::memory_order_seq_cst);
	return made;
}

Result<uint32_t> FastLock::attach(const ClientId &client, const std::string &what)
{
	auto owner = owners_.ownerFor(client);
	if (!owner)
		return errorOf(owner);
	if (auto slot = page_->attach(client, what); !slot)
		return errorOf(slot);
	return *owner;
}

uint64_t FastLock::nextToken()
{
	uint64_t token = view_.token().fetch_add(1, std::memory_order_seq_cst) + 1;
	if (token <= lastToken_) {
		token = lastToken_ + 1;
		view_.token().store(token, std::memory_order_seq_cst);
	}
	lastToken_ = token;
	return token;
}

Result<std::optional<uint64_t>> FastLock::tryGrant(const ClientId &client, LockMode mode)
{
	auto owner = owners_.ownerFor(client);
	if (!owner)
		return errorOf(owner);
	const uint32_t token = fast::makeToken(*owner, kServiceSlot);
	auto taken = mode == LockMode::Exclusive
			     ? fast::lock(view_, token, fast::Deadline::none())
			     : fast::lockShared(view_, token, fast::Deadline::none());
	if (taken)
		return nextToken();
	switch (taken.error().code) {
	case fast::Errc::WouldBlock:
		return std::nullopt;
	case fast::Errc::Deadlock:
		return fail(ErrorCode::InvalidArgument,
			    "connection " + client +
				    " holds this fast lock already: it has one grant at a time");
	case fast::Errc::Exhausted:
		// Every reader slot is taken: the shared request waits for one.
		return std::nullopt;
	default:
		return tl::unexpected(fastError(taken.error(), "cannot take the lock"));
	}
}

void FastLock::restoreHold(const ClientId &client, LockMode mode)
{
	auto owner = owners_.ownerFor(client);
	if (!owner)
		return;
	const uint32_t token = fast::makeToken(*owner, kServiceSlot);
	if (mode == LockMode::Exclusive)
		(void)fast::lock(view_, token, fast::Deadline::none());
	else
		(void)fast::lockShared(view_, token, fast::Deadline::none());
}

Result<void> FastLock::ungrant(const ClientId &client, LockMode mode)
{
	const auto owner = owners_.find(client);
	if (!owner)
		return fail(ErrorCode::NotHeld, "connection " + client + " holds no grant");
	const uint32_t token = fast::makeToken(*owner, kServiceSlot);
	auto given = mode == LockMode::Exclusive ? fast::unlock(view_, token)
						 : fast::unlockShared(view_, token);
	if (!given)
		return tl::unexpected(fastError(given.error(), "cannot release the lock"));
	return {};
}

void FastLock::recover(const ClientId &client)
{
	if (fastRecoveryDisabled()) {
		page_->detach(client);
		return;
	}
	if (const auto owner = owners_.find(client))
		fast::recoverLock(view_, *owner);
	page_->detach(client);
}

std::optional<LockMode> FastLock::mode() const
{
	const uint32_t word = view_.word().load(std::memory_order_relaxed);
	if (word & fast::kShared)
		return LockMode::Shared;
	if (fast::ownerOf(word) != 0)
		return LockMode::Exclusive;
	return std::nullopt;
}

std::vector<std::pair<ClientId, LockMode>> FastLock::holders() const
{
	std::vector<std::pair<ClientId, LockMode>> holders;
	const uint32_t word = view_.word().load(std::memory_order_relaxed);
	if (const uint32_t owner = fast::ownerOf(word)) {
		if (const ClientId *client = owners_.clientOf(owner))
			holders.emplace_back(*client, LockMode::Exclusive);
		return holders;
	}
	if (!(word & fast::kShared))
		return holders;
	for (uint32_t i = 0; i < view_.readerSlots(); ++i) {
		const uint32_t reader = view_.reader(i).load(std::memory_order_relaxed);
		if (fast::isFreeSlot(reader))
			continue;
		if (const ClientId *client = owners_.clientOf(fast::ownerOf(reader)))
			holders.emplace_back(*client, LockMode::Shared);
	}
	return holders;
}

std::optional<uint32_t> FastLock::armWait()
{
	fast::Word &word = view_.word();
	for (int attempt = 0; attempt < kCasAttempts; ++attempt) {
		uint32_t value = word.load(std::memory_order_seq_cst);
		if ((value & fast::kTokenMask) == 0)
			return std::nullopt;
		waiting_ = true;
		if (value & fast::kWaiters)
			return value;
		if (word.compare_exchange_strong(value, value | fast::kWaiters,
						 std::memory_order_seq_cst))
			return value | fast::kWaiters;
	}
	// A word that keeps changing: look again when the watch fires (spurious is fine).
	return word.load(std::memory_order_seq_cst);
}

void FastLock::stopWaiting()
{
	if (!waiting_)
		return;
	waiting_ = false;
	// The unlock that woke ipchubd woke one sleeper only: pass it on.
	fast::futexWake(view_.word(), 1);
}

} // namespace ipchub::core
