// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_attach.hpp"

namespace ipchub::detail {

namespace {

// Attaches fast's first page: true when the object is fast, false for the bus path.
Result<bool> attachFirst(Session &session, Session::Held &held, FastObject &fast)
{
	auto attached = fast.attachFirst(held, session.callDeadline());
	if (attached)
		return true;
	if (usesBusPath(attached.error()))
		return false;
	return errorOf(attached);
}

} // namespace

// The two attachFast parallel each other on purpose: a semaphore also learns whether its
// units are consumed (ReturnOnExit).
Result<void> attachFast(const std::shared_ptr<Session> &session,
			const std::shared_ptr<SemaphoreProxy> &proxy)
{
	Session::Held held(*session);
	auto fast = std::make_shared<FastSemaphore>(session, proxy, proxy->getProxy());
	auto attached = attachFirst(*session, held, *fast);
	if (!attached || !*attached)
		return attached ? Result<void>() : errorOf(attached);
	// Whether a unit taken records its holder (given back when it goes) or is
	// consumed: the page alone cannot tell.
	auto returnOnExit = getProperty<bool>(*session, held, proxy->getProxy(),
					      SemaphoreProxy::INTERFACE_NAME, "ReturnOnExit");
	if (!returnOnExit)
		return usesBusPath(returnOnExit.error()) ? Result<void>() : errorOf(returnOnExit);
	fast->setReturnsOnExit(*returnOnExit);
	proxy->fast = std::move(fast);
	return {};
}

Result<void> attachFast(const std::shared_ptr<Session> &session,
			const std::shared_ptr<LockProxy> &proxy)
{
	Session::Held held(*session);
	auto fast = std::make_shared<FastLock>(session, proxy, proxy->getProxy());
	auto attached = attachFirst(*session, held, *fast);
	if (!attached || !*attached)
		return attached ? Result<void>() : errorOf(attached);
	proxy->fast = std::move(fast);
	return {};
}

} // namespace ipchub::detail
