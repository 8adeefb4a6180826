// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/semaphore.hpp"

#include <utility>

#include "object_wait.hpp"
#include "proxies.hpp"

namespace ipchub {

namespace {

constexpr const char *kInterface = detail::SemaphoreProxy::INTERFACE_NAME;
constexpr const char *kWhat = "the semaphore";

// Wait(n, usec); Release(n) gives the units back.
detail::WaitMethods waitFor(uint32_t n)
{
	return {
		.interface = kInterface,
		.wait =
			[n](sdbus::IProxy &proxy, uint64_t usec) {
				return detail::methodCall(proxy, kInterface, "Wait", n, usec);
			},
		.replyHasToken = false,
		.giveBack =
			[n](sdbus::IProxy &proxy) {
				return detail::methodCall(proxy, kInterface, "Release", n);
			},
	};
}

} // namespace

SemaphoreGuard::SemaphoreGuard(std::shared_ptr<detail::Session> session,
			       std::shared_ptr<detail::SemaphoreProxy> proxy, uint32_t units)
	: session_(std::move(session)), proxy_(std::move(proxy)), units_(units)
{
}

SemaphoreGuard::SemaphoreGuard(SemaphoreGuard &&other) noexcept
	: session_(std::move(other.session_)), proxy_(std::move(other.proxy_)),
	  units_(std::exchange(other.units_, 0))
{
}

SemaphoreGuard &SemaphoreGuard::operator=(SemaphoreGuard &&other) noexcept
{
	if (this != &other) {
		(void)release();
		session_ = std::move(other.session_);
		proxy_ = std::move(other.proxy_);
		units_ = std::exchange(other.units_, 0);
	}
	return *this;
}

SemaphoreGuard::~SemaphoreGuard()
{
	(void)release();
}

Result<void> SemaphoreGuard::release()
{
	if (!proxy_)
		return {};
	const uint32_t units = std::exchange(units_, 0);
	Result<void> result;
	{
		detail::Session::Held held(*session_);
		auto &proxy = proxy_->getProxy();
		if (units != 0)
			result = detail::readReply<void>(
				session_->call(held, proxy,
					       detail::methodCall(proxy, kInterface, "Release",
								  units),
					       session_->callDeadline()));
		proxy_.reset();
	}
	session_.reset();
	return result;
}

uint32_t SemaphoreGuard::dismiss()
{
	if (proxy_) {
		detail::Session::Held held(*session_);
		proxy_.reset();
	}
	session_.reset();
	return std::exchange(units_, 0);
}

Result<SemaphoreGuard> Semaphore::acquireGuard(uint32_t n, Timeout timeout)
{
	if (auto acquired = acquire(n, timeout); !acquired)
		return errorOf(acquired);
	return SemaphoreGuard(session_, proxy_, n);
}

PendingWait Semaphore::acquireAsync(uint32_t n, Timeout limit,
				    std::function<void(Result<void>)> callback)
{
	auto complete = [callback = std::move(callback)](Result<uint64_t> outcome) {
		if (!outcome)
			callback(errorOf(outcome));
		else
			callback({});
	};
	return PendingWait(session_, detail::startObjectWait(*session_, proxy_, kWhat, waitFor(n),
							     limit, std::move(complete)));
}

Result<void> Semaphore::acquire(uint32_t n, Timeout limit)
{
	auto granted = detail::awaitObject(*session_, proxy_, kWhat, waitFor(n), limit);
	if (!granted)
		return errorOf(granted);
	return {};
}

Result<bool> Semaphore::tryAcquire(uint32_t n)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	auto giveBack = detail::sendLater(*session_, proxy, kInterface, "Release", n);
	return detail::readReply<bool>(
		session_->call(held, proxy, detail::methodCall(proxy, kInterface, "TryAcquire", n),
			       session_->callDeadline(),
			       [giveBack](sdbus::MethodReply &reply, bool abandoned) {
				       // Units taken by a reply nobody waited for go back.
				       if (abandoned && detail::replyFlag(reply))
					       giveBack();
			       }));
}

Result<void> Semaphore::release(uint32_t n)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	return detail::readReply<void>(
		session_->call(held, proxy, detail::methodCall(proxy, kInterface, "Release", n),
			       session_->callDeadline()));
}

Result<uint32_t> Semaphore::value() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<uint32_t>(*session_, held, proxy_->getProxy(), kInterface,
					     "Value");
}

Result<uint32_t> Semaphore::waiters() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<uint32_t>(*session_, held, proxy_->getProxy(), kInterface,
					     "Waiters");
}

Result<std::vector<SemaphoreHolder>> Semaphore::holders() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	using Holders = std::vector<sdbus::Struct<std::string, uint32_t>>;
	auto holders = detail::getProperty<Holders>(*session_, held, proxy_->getProxy(), kInterface,
						    "Holders");
	if (!holders)
		return errorOf(holders);
	std::vector<SemaphoreHolder> result;
	for (const auto &holder : *holders)
		result.push_back({holder.get<0>(), holder.get<1>()});
	return result;
}

Result<void> Semaphore::close()
{
	return closeObject();
}

} // namespace ipchub
