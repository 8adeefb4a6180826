#include "segment_lock.hpp"

#include <utility>

namespace ipchub::core {

Result<void> SegmentLock::checkNotHolder(const ClientId &client) const
{
	// The lock is not recursive: a second Lock from the holder would wait for itself.
	if (holder_ == client)
		return fail(ErrorCode::InvalidArgument,
			    "connection " + client + " already holds the segment lock");
	return {};
}

Result<bool> SegmentLock::tryLock(const ClientId &client)
{
	if (auto ok = checkNotHolder(client); !ok)
		return detail::Unexpected<Error>(ok.error());
	if (touched_)
		touched_(client);
	if (holder_ || !queue_.empty())
		return false;
	holder_ = client;
	persist(true);
	notify();
	return true;
}

Result<std::optional<WaitId>> SegmentLock::lock(const ClientId &client, Completion done)
{
	auto now = tryLock(client);
	if (!now)
		return detail::Unexpected<Error>(now.error());
	if (*now)
		return std::optional<WaitId>{};
	auto id = queue_.push(client, {}, std::move(done));
	if (!id)
		return detail::Unexpected<Error>(id.error());
	notify();
	return std::optional<WaitId>{*id};
}

void SegmentLock::cancelWait(WaitId id, Error error)
{
	auto waiter = queue_.remove(id);
	if (!waiter)
		return;
	notify();
	waiter->done(detail::Unexpected<Error>(std::move(error)));
}

Result<void> SegmentLock::unlock(const ClientId &client)
{
	if (holder_ != client)
		return fail(ErrorCode::NotHeld,
			    "connection " + client + " does not hold the segment lock");
	holder_.reset();
	serve();
	notify();
	persist(true);
	return {};
}

void SegmentLock::dropClient(const ClientId &client, bool closing)
{
	auto waits = queue_.removeClient(client);
	const bool held = holder_ == client;
	if (waits.empty() && !held)
		return;
	if (held) {
		holder_.reset();
		serve();
		persist(false);
	}
	notify();
	if (closing)
		for (auto &waiter : waits)
			waiter.done(fail(ErrorCode::Cancelled, "the segment was closed"));
}

void SegmentLock::end(const Error &error)
{
	auto waits = queue_.removeAll();
	holder_.reset();
	for (auto &waiter : waits)
		waiter.done(detail::Unexpected<Error>(error));
}

void SegmentLock::serve()
{
	if (holder_ || queue_.empty())
		return;
	auto waiter = queue_.popFront();
	holder_ = waiter.client;
	persist(true);
	waiter.done({});
}

void SegmentLock::persist(bool tellsClient)
{
	if (stateChanged_)
		stateChanged_(tellsClient);
}

void SegmentLock::notify()
{
	if (changed_)
		changed_();
}

} // namespace ipchub::core
