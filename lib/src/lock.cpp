#include "ipchub/lock.hpp"

#include <unistd.h>
#include <utility>

#include "common/lock_mode.hpp"
#include "proxies.hpp"
#include "received_fd.hpp"

namespace ipchub {

namespace {

std::string modeName(LockMode mode)
{
	return std::string(common::lockModeName(mode));
}

} // namespace

LockGuard::LockGuard(std::shared_ptr<detail::Session> session,
		     std::shared_ptr<detail::LockProxy> proxy, uint64_t token)
	: session_(std::move(session)), proxy_(std::move(proxy)), token_(token)
{
}

LockGuard::LockGuard(LockGuard &&other) noexcept
	: session_(std::move(other.session_)), proxy_(std::move(other.proxy_)),
	  token_(other.token_)
{
}

LockGuard &LockGuard::operator=(LockGuard &&other) noexcept
{
	if (this != &other) {
		(void)release();
		session_ = std::move(other.session_);
		proxy_ = std::move(other.proxy_);
		token_ = other.token_;
	}
	return *this;
}

LockGuard::~LockGuard()
{
	(void)release();
}

Result<void> LockGuard::release()
{
	if (!proxy_)
		return {};
	auto result = detail::callBus([&] { proxy_->Release(); });
	proxy_.reset();
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

Lock::Lock(std::shared_ptr<detail::Session> session, std::string path)
	: session_(std::move(session)), path_(std::move(path)),
	  proxy_(std::make_shared<detail::LockProxy>(*session_->connection, path_))
{
}

Lock::Lock(Lock &&) noexcept = default;
Lock &Lock::operator=(Lock &&other) noexcept
{
	if (this != &other) {
		(void)close();
		session_ = std::move(other.session_);
		path_ = std::move(other.path_);
		proxy_ = std::move(other.proxy_);
	}
	return *this;
}

Lock::~Lock()
{
	(void)close();
}

Result<LockGuard> Lock::acquire(LockMode mode, std::chrono::microseconds timeout)
{
	const uint64_t usec = detail::timeoutUsec(timeout);
	// A ticket rather than a pending Acquire call (usec 0 fails at once with
	// WouldBlock): dbus-daemon slows down with every call that awaits a reply.
	auto reply = detail::callOpen(proxy_, "the lock", [&] {
		if (usec != 0)
			proxy_->listen();
		return proxy_->Wait(modeName(mode), usec);
	});
	if (!reply)
		return detail::Unexpected<Error>(reply.error());
	const auto [ticket, token] = *reply;
	if (ticket == 0)
		return LockGuard(session_, proxy_, token);
	proxy_->waiting = detail::TicketEnd{};
	proxy_->waiting.ticket = ticket;
	auto waited = detail::awaitTicket(*session_->connection, proxy_->waiting, usec,
					  [&] { proxy_->CancelWait(ticket); });
	if (!waited)
		return detail::Unexpected<Error>(waited.error());
	return LockGuard(session_, proxy_, proxy_->waiting.token);
}

Result<std::optional<LockGuard>> Lock::tryAcquire(LockMode mode)
{
	auto reply = detail::callOpen(proxy_, "the lock", [&] { return proxy_->TryAcquire(modeName(mode)); });
	if (!reply)
		return detail::Unexpected<Error>(reply.error());
	const auto [acquired, token] = *reply;
	if (!acquired)
		return std::optional<LockGuard>{};
	return std::optional<LockGuard>{LockGuard(session_, proxy_, token)};
}

Result<LockHandle> Lock::acquireHandle(LockMode mode, std::chrono::microseconds timeout)
{
	const uint64_t usec = detail::timeoutUsec(timeout);
	UniqueFd fd;
	uint64_t token = 0;
	auto called = detail::callOpen(proxy_, "the lock", [&] {
		auto reply = detail::callForReply(proxy_->getProxy(),
						  detail::LockProxy::INTERFACE_NAME,
						  "AcquireHandle", detail::callTimeoutFor(usec),
						  modeName(mode), usec);
		fd = detail::readFd(reply);
		reply >> token;
	});
	if (!called)
		return detail::Unexpected<Error>(called.error());
	return LockHandle(fd.release(), token);
}

Result<LockState> Lock::mode() const
{
	auto mode = detail::callOpen(proxy_, "the lock", [&] { return proxy_->Mode(); });
	if (!mode)
		return detail::Unexpected<Error>(mode.error());
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
	return detail::callOpen(proxy_, "the lock", [&] {
		std::vector<LockHolder> holders;
		for (const auto &holder : proxy_->Holders())
			holders.push_back({
				.uniqueName = holder.get<0>(),
				.mode = common::parseLockMode(holder.get<1>())
						.value_or(LockMode::Shared),
				.pid = static_cast<pid_t>(holder.get<2>()),
				.appId = holder.get<3>(),
				.token = holder.get<4>(),
				.acquiredAt = std::chrono::system_clock::time_point(
					std::chrono::microseconds(holder.get<5>())),
			});
		return holders;
	});
}

Result<uint32_t> Lock::waiters() const
{
	return detail::callOpen(proxy_, "the lock", [&] { return proxy_->Waiters(); });
}

Result<uint64_t> Lock::token() const
{
	return detail::callOpen(proxy_, "the lock", [&] { return proxy_->Token(); });
}

Result<void> Lock::close()
{
	if (!proxy_)
		return {};
	auto result = detail::callBus([&] { proxy_->Close(); });
	proxy_.reset();
	return result;
}

} // namespace ipchub
