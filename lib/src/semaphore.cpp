// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/semaphore.hpp"

#include <utility>

#include "object_wait.hpp"
#include "proxies.hpp"

namespace ipchub {

namespace {

constexpr const char *kInterface = detail::SemaphoreProxy::INTERFACE_NAME;
constexpr const char *kWhat = "the semaphore";

// The fast page's operations, unless the object is on the bus path.
detail::FastSemaphore *onPage(const std::shared_ptr<detail::SemaphoreProxy> &proxy)
{
	return proxy && proxy->fast && !proxy->fast->onBus() ? proxy->fast.get() : nullptr;
}

// Whether a fast operation's outcome stands, or the object moved to the bus path
// during it (ipchubd came back without its page) and the bus is to be asked.
template <typename T>
bool stands(const Result<T> &outcome, const detail::FastSemaphore &fast)
{
	return outcome || !fast.onBus();
}

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

SemaphoreGuard::SemaphoreGuard(std::shared_ptr<detail::FastSemaphore> fast, detail::FastPage *page,
			       uint32_t token, uint32_t first, std::vector<uint32_t> rest,
			       bool ownerDied)
	: units_(1 + static_cast<uint32_t>(rest.size())), fast_(std::move(fast)), page_(page),
	  token_(token), first_(first), rest_(std::move(rest)), ownerDied_(ownerDied)
{
}

SemaphoreGuard::SemaphoreGuard(SemaphoreGuard &&other) noexcept
	: session_(std::move(other.session_)), proxy_(std::move(other.proxy_)),
	  units_(std::exchange(other.units_, 0)), fast_(std::move(other.fast_)),
	  page_(std::exchange(other.page_, nullptr)), token_(other.token_), first_(other.first_),
	  rest_(std::move(other.rest_)), ownerDied_(other.ownerDied_)
{
}

SemaphoreGuard &SemaphoreGuard::operator=(SemaphoreGuard &&other) noexcept
{
	if (this != &other) {
		(void)release();
		session_ = std::move(other.session_);
		proxy_ = std::move(other.proxy_);
		units_ = std::exchange(other.units_, 0);
		fast_ = std::move(other.fast_);
		page_ = std::exchange(other.page_, nullptr);
		token_ = other.token_;
		first_ = other.first_;
		rest_ = std::move(other.rest_);
		ownerDied_ = other.ownerDied_;
	}
	return *this;
}

SemaphoreGuard::~SemaphoreGuard()
{
	(void)release();
}

Result<void> SemaphoreGuard::release()
{
	if (fast_) {
		detail::FastUnits held;
		held.page = page_;
		held.token = token_;
		held.count = std::exchange(units_, 0);
		held.first = first_;
		held.rest = std::move(rest_);
		auto result = held.count != 0 ? fast_->release(held) : Result<void>();
		fast_.reset();
		page_ = nullptr;
		return result;
	}
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
	fast_.reset();
	page_ = nullptr;
	rest_.clear();
	if (proxy_) {
		detail::Session::Held held(*session_);
		proxy_.reset();
	}
	session_.reset();
	return std::exchange(units_, 0);
}

Result<SemaphoreGuard> Semaphore::acquireGuard(uint32_t n, Timeout timeout)
{
	if (auto *fast = onPage(proxy_)) {
		auto units = fast->acquire(n, timeout.duration());
		if (units)
			return SemaphoreGuard(proxy_->fast, units->page, units->token, units->first,
					      std::move(units->rest), units->ownerDied);
		if (stands(units, *fast))
			return errorOf(units);
	}
	if (auto acquired = acquire(n, timeout); !acquired)
		return errorOf(acquired);
	return SemaphoreGuard(session_, proxy_, n);
}

// Parallels Lock::acquireAsync (lock.cpp) on purpose (see there).
PendingWait Semaphore::acquireAsync(uint32_t n, Timeout limit,
				    std::function<void(Result<void>)> callback)
{
	if (onPage(proxy_)) {
		auto fast = proxy_->fast;
		auto units = fast->acquire(n, std::chrono::microseconds(0));
		if (units) {
			// Taken on the page: the callback still runs from process().
			detail::Session::Held held(*session_);
			auto giveBack = [fast, units = *units] { (void)fast->release(units); };
			return PendingWait(session_,
					   detail::grantedAsyncWait(
						   *session_, 0, std::move(giveBack),
						   [callback = std::move(callback)](
							   Result<uint64_t>) { callback({}); }));
		}
		if (units.error().code != ErrorCode::WouldBlock && !fast->onBus()) {
			detail::Session::Held held(*session_);
			// The callback gets the error itself: the completion carries it too.
			return PendingWait(
				session_,
				detail::failedAsyncWait(*session_, units.error(),
							[callback = std::move(callback),
							 error = units.error()](Result<uint64_t>) {
								callback(detail::Unexpected<Error>(
									error));
							}));
		}
		// Held: ipchubd waits on the page for this connection (thread slot 0), and
		// those units go back through the bus.
		auto complete = [fast, n,
				 callback = std::move(callback)](Result<uint64_t> outcome) {
			if (!outcome) {
				callback(errorOf(outcome));
				return;
			}
			fast->busHeld.fetch_add(n, std::memory_order_relaxed);
			callback({});
		};
		return PendingWait(session_,
				   detail::startObjectWait(*session_, proxy_, kWhat, waitFor(n),
							   limit, std::move(complete)));
	}
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
	if (auto *fast = onPage(proxy_)) {
		// The units are this connection's: release(n) finds them on the page.
		auto units = fast->acquire(n, limit.duration());
		if (units)
			return {};
		if (stands(units, *fast))
			return errorOf(units);
	}
	auto granted = detail::awaitObject(*session_, proxy_, kWhat, waitFor(n), limit);
	if (!granted)
		return errorOf(granted);
	return {};
}

Result<bool> Semaphore::tryAcquire(uint32_t n)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	if (auto *fast = onPage(proxy_)) {
		auto units = fast->acquire(n, std::chrono::microseconds(0));
		if (units)
			return true;
		if (units.error().code == ErrorCode::WouldBlock)
			return false;
		if (stands(units, *fast))
			return errorOf(units);
	}
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
	if (auto *fast = onPage(proxy_)) {
		if (n == 0)
			return fail(ErrorCode::InvalidArgument, "n is 0: release at least 1 unit");
		auto throughBus = fast->releaseCount(n);
		if (!throughBus && stands(throughBus, *fast))
			return errorOf(throughBus);
		if (throughBus) {
			if (*throughBus == 0)
				return {};
			n = *throughBus;
		}
	}
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
