// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/lock.hpp"

#include <unistd.h>
#include <utility>

#include "common/lock_mode.hpp"
#include "object_properties.hpp"
#include "object_wait.hpp"
#include "proxies.hpp"
#include "received_fd.hpp"

namespace ipchub {

namespace {

constexpr const char *kInterface = detail::LockProxy::INTERFACE_NAME;
constexpr const char *kWhat = "the lock";

// The fast page's operations, unless the object is on the bus path.
detail::FastLock *onPage(const std::shared_ptr<detail::LockProxy> &proxy)
{
	return proxy && proxy->fast && !proxy->fast->onBus() ? proxy->fast.get() : nullptr;
}

std::string modeName(LockMode mode)
{
	return std::string(common::lockModeName(mode));
}

// Wait(mode, usec), whose reply carries the grant's token; Release() gives it back.
detail::WaitMethods waitFor(LockMode mode)
{
	return {
		.interface = kInterface,
		.wait =
			[mode](sdbus::IProxy &proxy, uint64_t usec) {
				return detail::methodCall(proxy, kInterface, "Wait", modeName(mode),
							  usec);
			},
		.replyHasToken = true,
		.giveBack =
			[](sdbus::IProxy &proxy) {
				return detail::methodCall(proxy, kInterface, "Release");
			},
	};
}

} // namespace

LockGuard::LockGuard(std::shared_ptr<detail::Session> session,
		     std::shared_ptr<detail::LockProxy> proxy, uint64_t token)
	: session_(std::move(session)), proxy_(std::move(proxy)), token_(token)
{
}

LockGuard::LockGuard(std::shared_ptr<detail::FastLock> fast, detail::FastPage *page,
		     uint32_t fastToken, LockMode mode, uint64_t token, bool ownerDied)
	: token_(token), fast_(std::move(fast)), page_(page), fastToken_(fastToken), mode_(mode),
	  ownerDied_(ownerDied)
{
}

LockGuard::LockGuard(LockGuard &&other) noexcept
	: session_(std::move(other.session_)), proxy_(std::move(other.proxy_)),
	  token_(other.token_), fast_(std::move(other.fast_)),
	  page_(std::exchange(other.page_, nullptr)), fastToken_(other.fastToken_),
	  mode_(other.mode_), ownerDied_(other.ownerDied_)
{
}

LockGuard &LockGuard::operator=(LockGuard &&other) noexcept
{
	if (this != &other) {
		(void)release();
		session_ = std::move(other.session_);
		proxy_ = std::move(other.proxy_);
		token_ = other.token_;
		fast_ = std::move(other.fast_);
		page_ = std::exchange(other.page_, nullptr);
		fastToken_ = other.fastToken_;
		mode_ = other.mode_;
		ownerDied_ = other.ownerDied_;
	}
	return *this;
}

LockGuard::~LockGuard()
{
	(void)release();
}

Result<void> LockGuard::release()
{
	if (fast_) {
		detail::FastGrant grant;
		grant.page = std::exchange(page_, nullptr);
		grant.token = fastToken_;
		grant.mode = mode_;
		auto result = fast_->release(grant);
		fast_.reset();
		return result;
	}
	if (!proxy_)
		return {};
	Result<void> result;
	{
		detail::Session::Held held(*session_);
		auto &proxy = proxy_->getProxy();
		result = detail::readReply<void>(
			session_->call(held, proxy,
				       detail::methodCall(proxy, kInterface, "Release"),
				       session_->callDeadline()));
		proxy_.reset();
	}
	session_.reset();
	return result;
}

// fd is close-on-exec from its receipt (see readFd): a program this process runs
// never holds the lock.
LockHandle::LockHandle(int fd, uint64_t token) : fd_(fd), token_(token)
{
}

LockHandle::LockHandle(LockHandle &&other) noexcept
	: fd_(std::exchange(other.fd_, -1)), token_(other.token_)
{
}

LockHandle &LockHandle::operator=(LockHandle &&other) noexcept
{
	if (this != &other) {
		close();
		fd_ = std::exchange(other.fd_, -1);
		token_ = other.token_;
	}
	return *this;
}

LockHandle::~LockHandle()
{
	close();
}

void LockHandle::close()
{
	if (fd_ >= 0)
		::close(std::exchange(fd_, -1));
}

int LockHandle::releaseFd()
{
	return std::exchange(fd_, -1);
}

LockGuard Lock::fastGuard(const std::shared_ptr<detail::FastLock> &fast,
			  const detail::FastGrant &grant)
{
	return LockGuard(fast, grant.page, grant.token, grant.mode, grant.fencingToken,
			 grant.ownerDied);
}

// Parallels Semaphore::acquireAsync (semaphore.cpp) on purpose: the page first, then the
// bus's Wait; each kind completes with its own result (a guard, or units).
PendingWait Lock::acquireAsync(LockMode mode, Timeout limit,
			       std::function<void(Result<LockGuard>)> callback)
{
	if (onPage(proxy_)) {
		auto fast = proxy_->fast;
		auto grant = fast->acquire(mode, std::chrono::microseconds(0));
		if (grant) {
			// Granted on the page: the callback still runs from process().
			detail::Session::Held held(*session_);
			auto giveBack = [fast, grant = *grant] { (void)fast->release(grant); };
			return PendingWait(
				session_,
				detail::grantedAsyncWait(*session_, grant->fencingToken,
							 std::move(giveBack),
							 [fast, grant = *grant,
							  callback = std::move(callback)](
								 Result<uint64_t>) {
								 callback(fastGuard(fast, grant));
							 }));
		}
		if (grant.error().code != ErrorCode::WouldBlock && !fast->onBus()) {
			detail::Session::Held held(*session_);
			// The callback gets the error itself: the completion carries it too.
			return PendingWait(
				session_,
				detail::failedAsyncWait(*session_, grant.error(),
							[callback = std::move(callback),
							 error = grant.error()](Result<uint64_t>) {
								callback(detail::Unexpected<Error>(
									error));
							}));
		}
		// Held: ipchubd waits on the page for this connection (thread slot 0); the
		// grant is released through the bus, as any bus-path grant.
	}
	auto session = session_;
	auto owner = proxy_;
	auto complete = [session, owner, callback = std::move(callback)](Result<uint64_t> outcome) {
		if (!outcome)
			callback(errorOf(outcome));
		else
			callback(LockGuard(session, owner, *outcome));
	};
	return PendingWait(session_,
			   detail::startObjectWait(*session_, proxy_, kWhat, waitFor(mode), limit,
						   std::move(complete)));
}

Result<LockGuard> Lock::acquire(LockMode mode, Timeout limit)
{
	if (auto *fast = onPage(proxy_)) {
		auto grant = fast->acquire(mode, limit.duration());
		if (grant)
			return fastGuard(proxy_->fast, *grant);
		// Else the bus, if ipchubd came back without the page meanwhile.
		if (!fast->onBus())
			return errorOf(grant);
	}
	auto token = detail::awaitObject(*session_, proxy_, kWhat, waitFor(mode), limit);
	if (!token)
		return errorOf(token);
	return LockGuard(session_, proxy_, *token);
}

Result<std::optional<LockGuard>> Lock::tryAcquire(LockMode mode)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	if (auto *fast = onPage(proxy_)) {
		auto grant = fast->acquire(mode, std::chrono::microseconds(0));
		if (grant)
			return std::optional<LockGuard>{fastGuard(proxy_->fast, *grant)};
		if (grant.error().code == ErrorCode::WouldBlock)
			return std::optional<LockGuard>{};
		if (!fast->onBus())
			return errorOf(grant);
	}
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	auto giveBack = detail::sendLater(*session_, proxy, kInterface, "Release");
	auto reply =
		session_->call(held, proxy,
			       detail::methodCall(proxy, kInterface, "TryAcquire", modeName(mode)),
			       session_->callDeadline(),
			       [giveBack](sdbus::MethodReply &reply, bool abandoned) {
				       // A grant nobody waited for goes back.
				       if (abandoned && detail::replyFlag(reply))
					       giveBack();
			       });
	bool acquired = false;
	uint64_t token = 0;
	if (auto read = detail::readValues(reply, acquired, token); !read)
		return errorOf(read);
	if (!acquired)
		return std::optional<LockGuard>{};
	return std::optional<LockGuard>{LockGuard(session_, proxy_, token)};
}

Result<LockHandle> Lock::acquireHandle(LockMode mode, Timeout limit)
{
	const std::chrono::microseconds timeout = limit.duration();
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	const uint64_t usec = detail::timeoutUsec(timeout);
	// A pending call: its reply carries the handle. One that comes after the caller
	// gave up is dropped, and with it the handle, which releases the grant.
	const detail::Deadline bound = detail::Deadline::after(timeout).plus(detail::kReplyMargin);
	auto &proxy = proxy_->getProxy();
	auto reply = session_->call(held, proxy,
				    detail::methodCall(proxy, kInterface, "AcquireHandle",
						       modeName(mode), usec),
				    bound);
	if (!reply)
		return errorOf(reply);
	try {
		UniqueFd fd = detail::readFd(*reply);
		uint64_t token = 0;
		*reply >> token;
		return LockHandle(fd.release(), token);
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "unexpected reply from ipchubd: " + e.getMessage());
	}
}

Result<LockState> Lock::mode() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto mode = detail::getProperty<std::string>(*session_, held, proxy_->getProxy(),
						     kInterface, "Mode");
	if (!mode)
		return errorOf(mode);
	if (*mode == "unlocked")
		return LockState::Unlocked;
	if (*mode == "shared")
		return LockState::Shared;
	if (*mode == "exclusive")
		return LockState::Exclusive;
	return fail(ErrorCode::Failed,
		    "the service reports an unknown lock mode \"" + *mode + "\"");
}

Result<std::vector<LockHolder>> Lock::holders() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto holders = detail::getProperty<detail::LockHolderStructs>(*session_, held,
								      proxy_->getProxy(),
								      kInterface, "Holders");
	if (!holders)
		return errorOf(holders);
	return detail::lockHolders(*holders);
}

Result<uint32_t> Lock::waiters() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<uint32_t>(*session_, held, proxy_->getProxy(), kInterface,
					     "Waiters");
}

Result<uint64_t> Lock::token() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<uint64_t>(*session_, held, proxy_->getProxy(), kInterface,
					     "Token");
}

Result<void> Lock::close()
{
	return closeObject();
}

} // namespace ipchub
