// SPDX-License-Identifier: LGPL-2.1-or-later
#include "lock.hpp"

#include <algorithm>
#include <ctime>
#include <string>

namespace ipchub::core {

namespace {

uint64_t realtimeUsec()
{
	timespec now{};
	clock_gettime(CLOCK_REALTIME, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1'000'000 +
	       static_cast<uint64_t>(now.tv_nsec) / 1'000;
}

} // namespace

Lock::Lock(ObjectInfo info, Quota &quota, GrantQuota *grants, std::unique_ptr<FastLock> fast)
	: info_(std::move(info)), queue_(quota), grantQuota_(grants), quota_(quota),
	  fast_(std::move(fast))
{
}

Lock::~Lock()
{
	endAllGrants();
}

Result<void> Lock::room(const ClientId &client, bool handle) const
{
	if (grantQuota_)
		if (auto ok = grantQuota_->room(client, handle); !ok)
			return ok;
	return quota_.checkGrant(client);
}

std::optional<LockMode> Lock::mode() const
{
	if (fast_)
		return fast_->mode();
	if (grants_.empty())
		return std::nullopt;
	// Grants never mix modes: an exclusive grant is always alone.
	return grants_.begin()->second.mode;
}

bool Lock::grantable(LockMode mode) const
{
	if (grants_.empty())
		return true;
	return mode == LockMode::Shared && this->mode() == LockMode::Shared;
}

std::optional<uint64_t> Lock::tryAcquire(const Requester &who, LockMode mode, bool handle)
{
	if (events_)
		events_->touched(info_.id, who.client);
	// Nobody overtakes a waiter, so a writer at the head is not starved by readers.
	if (fast_) {
		if (!queue_.empty() || !room(who.client, handle))
			return std::nullopt;
		auto token = grantFast(who, mode, handle);
		if (!token || !*token)
			return std::nullopt;
		notify();
		return **token;
	}
	if (!queue_.empty() || !grantable(mode) || !room(who.client, handle))
		return std::nullopt;
	const uint64_t token = grant(who, mode, handle);
	notify();
	return token;
}

Result<std::optional<uint64_t>> Lock::grantNow(const Requester &who, LockMode mode, bool handle)
{
	if (auto ok = room(who.client, handle); !ok)
		return errorOf(ok);
	if (!fast_ || !queue_.empty())
		return tryAcquire(who, mode, handle);
	if (events_)
		events_->touched(info_.id, who.client);
	auto token = grantFast(who, mode, handle);
	if (token && *token)
		notify();
	return token;
}

Result<uint64_t> Lock::acquireNow(const Requester &who, LockMode mode, bool handle)
{
	auto token = grantNow(who, mode, handle);
	if (!token)
		return errorOf(token);
	if (*token)
		return **token;
	return fail(ErrorCode::WouldBlock, "the lock cannot be granted in mode " +
						   std::string(lockModeName(mode)) + " now");
}

Error Lock::timedOut(LockMode mode, uint64_t timeoutUsec)
{
	return {ErrorCode::Timeout, "the lock was not granted in mode " +
					    std::string(lockModeName(mode)) + " within " +
					    std::to_string(timeoutUsec) + " µs"};
}

Result<Attempt> Lock::acquire(const Requester &who, LockMode mode, bool handle, Done done)
{
	auto token = grantNow(who, mode, handle);
	if (!token)
		return errorOf(token);
	if (*token)
		return Granted{**token};
	auto id = queue_.push(who.client, Request{who, mode, handle}, std::move(done));
	if (!id)
		return errorOf(id);
	// WAITERS is set on the word, then the page tried again: an unlock between the
	// first try and the flag wakes the watch.
	if (fast_)
		serve();
	notify();
	return Queued{*id};
}

void Lock::cancelWait(WaitId id, Error error)
{
	// The head may have held back waits behind it.
	queue_.cancel(id, std::move(error), [this] {
		serve();
		notify();
	});
}

Result<void> Lock::release(const ClientId &client)
{
	// A handle has its own way to end (closing it), so Release ends plain grants
	// first; newest first, so nested guards unwind in order.
	auto chosen = grants_.end();
	for (auto it = grants_.begin(); it != grants_.end(); ++it) {
		if (it->second.holder.client != client)
			continue;
		if (chosen == grants_.end() || chosen->second.handle || !it->second.handle)
			chosen = it;
	}
	if (chosen == grants_.end())
		return fail(ErrorCode::NotHeld, "connection " + client +
							" holds no grant of lock \"" +
							info_.id.key + "\"");
	Result<void> given;
	if (fast_)
		given = ungrantFast(chosen->second);
	endGrant(chosen);
	dropEndedHandles();
	serve();
	notify();
	persist(true);
	return given;
}

bool Lock::releaseGrant(uint64_t token)
{
	const auto grant = grants_.find(token);
	if (grant == grants_.end())
		return false;
	if (fast_)
		(void)ungrantFast(grant->second);
	endGrant(grant);
	dropEndedHandles();
	serve();
	notify();
	persist(false);
	return true;
}

void Lock::dropClient(const ClientId &client, bool closing)
{
	auto waits = queue_.removeClient(client);
	size_t dropped = 0;
	for (auto it = grants_.begin(); it != grants_.end();) {
		auto next = std::next(it);
		if (it->second.holder.client == client) {
			endGrant(it);
			++dropped;
		}
		it = next;
	}
	if (fast_)
		// Its words on the page, whether taken there or through the bus.
		fast_->recover(client);
	else if (waits.empty() && dropped == 0)
		return;
	dropEndedHandles();
	serve();
	notify();
	if (dropped > 0)
		persist(false);
	if (closing)
		queue_.endAll(waits, {ErrorCode::Cancelled, "the lock was closed"});
}

void Lock::end(const Error &error)
{
	auto waits = queue_.removeAll();
	endAllGrants();
	handleEnds_.clear();
	if (fast_)
		serve();
	queue_.endAll(waits, error);
}

// Parallels Semaphore::attachFast and pageChanged (semaphore.cpp) on purpose: each kind
// has its own page type and attach result.
Result<uint32_t> Lock::attachFast(const ClientId &client)
{
	const std::string what = "lock \"" + info_.id.key + "\"";
	if (!fast_)
		return fail(ErrorCode::InvalidArgument, what + " is not a fast object");
	auto owner = fast_->attach(client, what);
	if (owner && events_)
		events_->touched(info_.id, client);
	return owner;
}

void Lock::pageChanged()
{
	if (!fast_)
		return;
	serve();
	notify();
}

Result<std::optional<uint64_t>> Lock::grantFast(const Requester &who, LockMode mode, bool handle)
{
	auto token = fast_->tryGrant(who.client, mode);
	if (!token)
		return errorOf(token);
	if (!*token)
		return std::nullopt;
	return grant(who, mode, handle, **token);
}

Result<void> Lock::ungrantFast(const LockGrant &grant)
{
	return fast_->ungrant(grant.holder.client, grant.mode);
}

void Lock::serveFast()
{
	std::vector<std::pair<Lock::Done, Result<uint64_t>>> served;
	// Bounded: each round grants or ends a wait, or arms the watch; a word that is
	// free whenever ipchubd looks but never grantable is left to the watch.
	for (int freeRounds = 0; !queue_.empty();) {
		const auto &request = queue_.front().request;
		if (auto ok = room(request.who.client, request.handle); !ok) {
			served.emplace_back(queue_.popFront().done, errorOf(ok));
			continue;
		}
		auto token = grantFast(request.who, request.mode, request.handle);
		if (token && !*token) {
			watchedWord_ = fast_->armWait();
			if (!watchedWord_ && ++freeRounds < 8)
				continue;
			if (!watchedWord_)
				watchedWord_ = fast_->word().load(std::memory_order_seq_cst);
			break;
		}
		auto waiter = queue_.popFront();
		served.emplace_back(std::move(waiter.done),
				    token ? Result<uint64_t>(**token)
					  : Result<uint64_t>(errorOf(token)));
	}
	if (queue_.empty()) {
		fast_->stopWaiting();
		watchedWord_.reset();
	}
	for (auto &[done, outcome] : served)
		done(std::move(outcome));
}

uint64_t Lock::grant(const Requester &who, LockMode mode, bool handle,
		     std::optional<uint64_t> pageToken)
{
	const uint64_t token = pageToken ? *pageToken : ++lastToken_;
	lastToken_ = std::max(lastToken_, token);
	grants_.emplace(token, LockGrant{who, mode, token, realtimeUsec(), handle});
	if (grantQuota_)
		grantQuota_->take(who.client, handle);
	quota_.addGrant(who.client);
	// Before the grantee learns the token: a token the service forgot could be
	// handed out twice, and two holders would think they are alone.
	persist(true);
	return token;
}

bool Lock::keepHandleEnd(uint64_t token, UniqueFd end)
{
	const auto grant = grants_.find(token);
	if (grant == grants_.end() || !grant->second.handle || !end)
		return false;
	handleEnds_.insert_or_assign(token, std::move(end));
	// Before the holder gets the handle, as its grant was.
	persist(true);
	return true;
}

void Lock::restore(uint64_t lastToken, std::vector<LockGrant> grants,
		   std::map<uint64_t, UniqueFd> handleEnds)
{
	lastToken_ = lastToken;
	endAllGrants();
	// Restored grants count even past a limit: they were given already.
	for (auto &grant : grants) {
		if (grantQuota_)
			grantQuota_->take(grant.holder.client, grant.handle);
		quota_.addGrant(grant.holder.client);
		// A fast lock's new page holds it for them again.
		if (fast_)
			fast_->restoreHold(grant.holder.client, grant.mode);
		grants_.emplace(grant.token, std::move(grant));
	}
	handleEnds_ = std::move(handleEnds);
	std::erase_if(handleEnds_, [this](const auto &entry) {
		const auto grant = grants_.find(entry.first);
		return grant == grants_.end() || !grant->second.handle;
	});
}

void Lock::endGrant(std::map<uint64_t, LockGrant>::iterator grant)
{
	if (grantQuota_)
		grantQuota_->give(grant->second.holder.client, grant->second.handle);
	quota_.returnGrant(grant->second.holder.client);
	grants_.erase(grant);
}

void Lock::endAllGrants()
{
	while (!grants_.empty())
		endGrant(grants_.begin());
}

void Lock::dropEndedHandles()
{
	std::erase_if(handleEnds_,
		      [this](const auto &entry) { return !grants_.contains(entry.first); });
}

void Lock::persist(bool tellsClient)
{
	if (events_)
		events_->stateChanged(info_.id, tellsClient);
}

void Lock::serve()
{
	if (fast_)
		return serveFast();
	// Grant from the head while it fits; the first waiter that does not fit holds
	// back everyone behind it.
	std::vector<std::pair<Lock::Done, Result<uint64_t>>> served;
	while (!queue_.empty() && grantable(queue_.front().request.mode)) {
		auto waiter = queue_.popFront();
		const auto &request = waiter.request;
		// Its holder may have used up its room while it waited.
		if (auto ok = room(request.who.client, request.handle); !ok) {
			served.emplace_back(std::move(waiter.done), errorOf(ok));
			continue;
		}
		served.emplace_back(std::move(waiter.done),
				    grant(request.who, request.mode, request.handle));
	}
	for (auto &[done, outcome] : served)
		done(std::move(outcome));
}

void Lock::notify()
{
	if (events_)
		events_->changed(info_.id);
}

} // namespace ipchub::core
