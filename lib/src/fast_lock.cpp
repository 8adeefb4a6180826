// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_lock.hpp"

#include <optional>
#include <string>

namespace ipchub::detail {

namespace {

fast::LockView viewOf(const FastPage *page)
{
	return fast::LockView(page->mapping.address(), {page->readerSlots});
}

Unexpected<Error> fastError(const fast::Error &error, const FastPage *page)
{
	switch (error.code) {
	case fast::Errc::WouldBlock:
		return fail(ErrorCode::WouldBlock, "the lock is held");
	case fast::Errc::Timeout:
		return fail(ErrorCode::Timeout, "the timeout passed before the lock was free");
	case fast::Errc::Deadlock:
		return fail(ErrorCode::InvalidArgument,
			    "the calling thread holds this lock already: it would wait for itself");
	case fast::Errc::Exhausted:
		return fail(ErrorCode::LimitExceeded, "every reader slot of the lock (" +
							      std::to_string(page->readerSlots) +
							      ") is taken");
	default:
		break;
	}
	return fail(fast::errorCode(error.code), "the lock's fast page: " + fast::describe(error));
}

Result<void> unlockOn(const FastPage *page, uint32_t token, LockMode mode)
{
	const auto lock = viewOf(page);
	auto unlocked = mode == LockMode::Exclusive ? fast::unlock(lock, token)
						    : fast::unlockShared(lock, token);
	if (!unlocked)
		return fail(ErrorCode::NotHeld, "the lock was taken back: the connection or "
						"ipchubd went since it was granted");
	return {};
}

} // namespace

Result<FastGrant> FastLock::acquire(LockMode mode, std::chrono::microseconds timeout)
{
	auto slot = threadSlot();
	if (!slot)
		return errorOf(slot);
	// The deadline is read from the clock only once a first try found the lock held.
	std::optional<Deadline> deadline;
	bool slept = false;
	for (;;) {
		auto page = this->page(deadline ? deadline->left() : timeout);
		if (!page)
			return errorOf(page);
		const auto lock = viewOf(*page);
		const uint32_t token = fast::makeToken((*page)->owner, *slot);
		const fast::Deadline slice = !deadline		? fast::Deadline::none()
					     : isTry(*deadline) ? fast::Deadline::none()
								: sliceOf(*deadline);
		auto taken = mode == LockMode::Exclusive ? fast::lock(lock, token, slice)
							 : fast::lockShared(lock, token, slice);
		if (taken) {
			// A sleeper whose slice ended may have missed a wake-up meant for it
			// and lost the WAITERS bit meanwhile: set it again, so that this
			// unlock wakes whoever still sleeps.
			if (slept && mode == LockMode::Exclusive)
				lock.word().fetch_or(fast::kWaiters, std::memory_order_relaxed);
			FastGrant grant;
			grant.page = *page;
			grant.token = token;
			grant.mode = mode;
			grant.ownerDied = *taken == fast::Acquired::OwnerDied;
			grant.fencingToken =
				lock.token().fetch_add(1, std::memory_order_acq_rel) + 1;
			if (!stale(*page)) [[likely]]
				return grant;
			// Granted on a page ipchubd left: worth nothing; the new page decides.
			(void)unlockOn(*page, token, mode);
			continue;
		}
		const fast::Errc code = taken.error().code;
		if (code != fast::Errc::Timeout && code != fast::Errc::WouldBlock)
			return fastError(taken.error(), *page);
		if (!deadline) {
			if (timeout.count() <= 0)
				return fastError(taken.error(), *page);
			deadline = Deadline::after(timeout);
			continue;
		}
		if (deadline->passed())
			return fastError({fast::Errc::Timeout}, *page);
		// A slice ended: look whether ipchubd left meanwhile, then sleep on.
		slept = true;
		checkService();
	}
}

Result<void> FastLock::release(const FastGrant &grant)
{
	auto unlocked = unlockOn(grant.page, grant.token, grant.mode);
	if (unlocked && stale(grant.page))
		return fail(ErrorCode::NotHeld,
			    "the lock was taken back: ipchubd or the connection went since it "
			    "was granted");
	return unlocked;
}

} // namespace ipchub::detail
