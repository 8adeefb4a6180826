#include "semaphore.hpp"

#include <algorithm>
#include <string>

namespace ipchub::core {

Result<void> Semaphore::check(uint32_t initial, const SemaphoreOptions &options)
{
	if (options.max == 0)
		return fail(ErrorCode::InvalidArgument, "option max is 0; it must be at least 1");
	if (initial > options.max)
		return fail(ErrorCode::InvalidArgument,
			    "initial is " + std::to_string(initial) + "; above max " +
				    std::to_string(options.max));
	return {};
}

Semaphore::Semaphore(ObjectInfo info, uint32_t initial, const SemaphoreOptions &options,
		     Quota &quota)
	: info_(std::move(info)), options_(options), value_(initial), queue_(quota)
{
}

std::vector<std::pair<ClientId, uint32_t>> Semaphore::holders() const
{
	return {holders_.begin(), holders_.end()};
}

uint32_t Semaphore::heldBy(const ClientId &client) const
{
	auto it = holders_.find(client);
	return it == holders_.end() ? 0 : it->second;
}

Result<void> Semaphore::checkCount(uint32_t n) const
{
	if (n == 0)
		return fail(ErrorCode::InvalidArgument, "n is 0; it must be at least 1");
	if (n > options_.max)
		return fail(ErrorCode::InvalidArgument,
			    "n is " + std::to_string(n) + "; above the semaphore's max " +
				    std::to_string(options_.max));
	return {};
}

Result<bool> Semaphore::tryAcquire(const ClientId &client, uint32_t n)
{
	if (auto ok = checkCount(n); !ok)
		return detail::Unexpected<Error>(ok.error());
	if (touched_)
		touched_(client);
	if (!queue_.empty() || value_ < n)
		return false;
	grant(client, n);
	notify();
	return true;
}

Result<std::optional<WaitId>> Semaphore::acquire(const ClientId &client, uint32_t n,
						 Completion done)
{
	auto now = tryAcquire(client, n);
	if (!now)
		return detail::Unexpected<Error>(now.error());
	if (*now)
		return std::optional<WaitId>{};
	auto id = queue_.push(client, n, std::move(done));
	if (!id)
		return detail::Unexpected<Error>(id.error());
	notify();
	return std::optional<WaitId>{*id};
}

void Semaphore::cancelWait(WaitId id, Error error)
{
	auto waiter = queue_.remove(id);
	if (!waiter)
		return;
	// The head may have held back smaller waits behind it.
	serve();
	notify();
	waiter->done(detail::Unexpected<Error>(std::move(error)));
}

Result<void> Semaphore::release(const ClientId &client, uint32_t n)
{
	if (n == 0)
		return fail(ErrorCode::InvalidArgument, "n is 0; it must be at least 1");
	const uint64_t after = uint64_t{value_} + n;
	if (after > options_.max)
		return fail(ErrorCode::LimitExceeded,
			    "releasing " + std::to_string(n) + " units would bring the value to " +
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
	if (stateChanged_)
		stateChanged_(true);
	return {};
}

void Semaphore::dropClient(const ClientId &client, bool closing)
{
	auto waits = queue_.removeClient(client);
	auto held = holders_.find(client);
	if (waits.empty() && held == holders_.end())
		return;
	if (held != holders_.end()) {
		giveBack(held->second);
		holders_.erase(held);
		if (stateChanged_)
			stateChanged_(false);
	}
	serve();
	notify();
	if (closing)
		for (auto &waiter : waits)
			waiter.done(fail(ErrorCode::Cancelled, "the semaphore was closed"));
}

void Semaphore::end(const Error &error)
{
	auto waits = queue_.removeAll();
	holders_.clear();
	for (auto &waiter : waits)
		waiter.done(detail::Unexpected<Error>(error));
}

void Semaphore::grant(const ClientId &client, uint32_t n)
{
	value_ -= n;
	if (options_.returnOnExit)
		holders_[client] += n;
	// Before the grantee is told: a grant the service forgot could be given twice.
	if (stateChanged_)
		stateChanged_(true);
}

void Semaphore::giveBack(uint64_t units)
{
	// Posts past the held units can have filled the semaphore up to max already.
	value_ = static_cast<uint32_t>(std::min<uint64_t>(options_.max, value_ + units));
}

void Semaphore::serve()
{
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
	if (changed_)
		changed_();
}

} // namespace ipchub::core
