// SPDX-License-Identifier: LGPL-2.1-or-later
#include "semaphore.hpp"

#include <algorithm>
#include <string>

namespace ipchub::core {

// Parallels checkCount on purpose: each names its own argument in its messages.
Result<void> Semaphore::check(uint32_t initial, const SemaphoreOptions &options)
{
	if (options.max == 0)
		return fail(ErrorCode::InvalidArgument, "option max is 0; it must be at least 1");
	if (initial > options.max)
		return fail(ErrorCode::InvalidArgument, "initial is " + std::to_string(initial) +
								"; above max " +
								std::to_string(options.max));
	return {};
}

Semaphore::Semaphore(ObjectInfo info, uint32_t initial, const SemaphoreOptions &options,
		     Quota &quota, std::unique_ptr<FastSemaphore> fast)
	: info_(std::move(info)), options_(options), value_(initial), queue_(quota),
	  fast_(std::move(fast))
{
}

std::vector<std::pair<ClientId, uint32_t>> Semaphore::holders() const
{
	if (fast_)
		return fast_->holders();
	return {holders_.begin(), holders_.end()};
}

uint32_t Semaphore::heldBy(const ClientId &client) const
{
	if (fast_)
		return fast_->heldBy(client);
	auto it = holders_.find(client);
	return it == holders_.end() ? 0 : it->second;
}

// Parallels check() on purpose: each names its own argument in its messages.
Result<void> Semaphore::checkCount(uint32_t n) const
{
	if (n == 0)
		return fail(ErrorCode::InvalidArgument, "n is 0; it must be at least 1");
	if (n > options_.max)
		return fail(ErrorCode::InvalidArgument, "n is " + std::to_string(n) +
								"; above the semaphore's max " +
								std::to_string(options_.max));
	return {};
}

Result<bool> Semaphore::tryAcquire(const ClientId &client, uint32_t n)
{
	if (auto ok = checkCount(n); !ok)
		return errorOf(ok);
	if (events_)
		events_->touched(info_.id, client);
	if (fast_) {
		if (!queue_.empty())
			return false;
		auto taken = fast_->take(client, n);
		if (taken && *taken) {
			// Before the grantee is told, as grant() does.
			if (events_)
				events_->stateChanged(info_.id, true);
			notify();
		}
		return taken;
	}
	if (!queue_.empty() || value_ < n)
		return false;
	grant(client, n);
	notify();
	return true;
}

Result<void> Semaphore::acquireNow(const ClientId &client, uint32_t n)
{
	auto taken = tryAcquire(client, n);
	if (!taken)
		return errorOf(taken);
	if (!*taken)
		return fail(ErrorCode::WouldBlock, std::to_string(n) + " units are not free now");
	return {};
}

Error Semaphore::timedOut(uint32_t n, uint64_t timeoutUsec)
{
	return {ErrorCode::Timeout, "no " + std::to_string(n) + " units were free within " +
					    std::to_string(timeoutUsec) + " µs"};
}

Result<std::optional<WaitId>> Semaphore::acquire(const ClientId &client, uint32_t n,
						 Completion done)
{
	auto now = tryAcquire(client, n);
	if (!now)
		return errorOf(now);
	if (*now)
		return std::optional<WaitId>{};
	auto id = queue_.push(client, n, std::move(done));
	if (!id)
		return errorOf(id);
	// Counted as a sleeper on the page first, then tried again: a release between
	// the first try and the count wakes the watch.
	if (fast_)
		serve();
	notify();
	return std::optional<WaitId>{*id};
}

void Semaphore::cancelWait(WaitId id, Error error)
{
	// The head may have held back waits behind it.
	queue_.cancel(id, std::move(error), [this] {
		serve();
		notify();
	});
}

Result<void> Semaphore::release(const ClientId &client, uint32_t n)
{
	if (n == 0)
		return fail(ErrorCode::InvalidArgument, "n is 0; it must be at least 1");
	if (fast_) {
		if (events_)
			events_->touched(info_.id, client);
		if (auto given = fast_->give(client, n); !given)
			return given;
		serve();
		notify();
		if (events_)
			events_->stateChanged(info_.id, true);
		return {};
	}
	const uint64_t after = uint64_t{value_} + n;
	if (after > options_.max)
		return fail(ErrorCode::LimitExceeded, "releasing " + std::to_string(n) +
							      " units would bring the value to " +
							      std::to_string(after) + "; max is " +
							      std::to_string(options_.max));
	if (auto it = holders_.find(client); it != holders_.end()) {
		it->second -= std::min(it->second, n);
		if (it->second == 0)
			holders_.erase(it);
	}
	value_ = static_cast<uint32_t>(after);
	serve();
	notify();
	if (events_)
		events_->stateChanged(info_.id, true);
	return {};
}

void Semaphore::dropClient(const ClientId &client, bool closing)
{
	auto waits = queue_.removeClient(client);
	if (fast_) {
		fast_->recover(client);
		serve();
		notify();
		if (closing)
			queue_.endAll(waits, {ErrorCode::Cancelled, "the semaphore was closed"});
		return;
	}
	auto held = holders_.find(client);
	if (waits.empty() && held == holders_.end())
		return;
	if (held != holders_.end()) {
		giveBack(held->second);
		holders_.erase(held);
		if (events_)
			events_->stateChanged(info_.id, false);
	}
	serve();
	notify();
	if (closing)
		queue_.endAll(waits, {ErrorCode::Cancelled, "the semaphore was closed"});
}

// Parallels SharedMemoryLock::end and Lock::end on purpose: each lets go of its own
// holders.
void Semaphore::end(const Error &error)
{
	auto waits = queue_.removeAll();
	holders_.clear();
	if (fast_)
		serve();
	queue_.endAll(waits, error);
}

// Parallels Lock::attachFast and pageChanged (lock.cpp) on purpose (see there).
Result<FastSemaphore::Attached> Semaphore::attachFast(const ClientId &client)
{
	const std::string what = "semaphore \"" + info_.id.key + "\"";
	if (!fast_)
		return fail(ErrorCode::InvalidArgument, what + " is not a fast object");
	auto attached = fast_->attach(client, what);
	if (attached && events_)
		events_->touched(info_.id, client);
	return attached;
}

void Semaphore::pageChanged()
{
	if (!fast_)
		return;
	serve();
	notify();
}

void Semaphore::serveFast()
{
	// Bounded: each round grants a wait or ends.
	std::vector<Completion> granted;
	std::vector<std::pair<Completion, Error>> failed;
	while (!queue_.empty()) {
		fast_->setWaiting(true);
		// Read before the try: a release after it bumps seq and the watch fires.
		const uint32_t seq = fast_->seq();
		auto taken = fast_->take(queue_.front().client, queue_.front().request);
		if (taken && !*taken) {
			watchedSeq_ = seq;
			break;
		}
		auto waiter = queue_.popFront();
		if (taken && events_)
			events_->stateChanged(info_.id, true);
		if (taken)
			granted.push_back(std::move(waiter.done));
		else
			failed.emplace_back(std::move(waiter.done), taken.error());
	}
	if (queue_.empty()) {
		fast_->setWaiting(false);
		watchedSeq_.reset();
	}
	for (auto &done : granted)
		done({});
	for (auto &[done, error] : failed)
		done(tl::unexpected(std::move(error)));
}

void Semaphore::grant(const ClientId &client, uint32_t n)
{
	value_ -= n;
	if (options_.returnOnExit)
		holders_[client] += n;
	// Before the grantee is told: a grant the service forgot could be given twice.
	if (events_)
		events_->stateChanged(info_.id, true);
}

void Semaphore::giveBack(uint64_t units)
{
	// Posts past the held units can have filled the semaphore up to max already.
	value_ = static_cast<uint32_t>(std::min<uint64_t>(options_.max, value_ + units));
}

void Semaphore::serve()
{
	if (fast_)
		return serveFast();
	std::vector<Completion> granted;
	while (!queue_.empty() && queue_.front().request <= value_) {
		auto waiter = queue_.popFront();
		grant(waiter.client, waiter.request);
		granted.push_back(std::move(waiter.done));
	}
	for (auto &done : granted)
		done({});
}

void Semaphore::notify()
{
	if (events_)
		events_->changed(info_.id);
}

} // namespace ipchub::core
