#include "ipchub/semaphore.hpp"

#include "proxies.hpp"

namespace ipchub {

namespace {

constexpr const char *kInterface = detail::SemaphoreProxy::INTERFACE_NAME;
constexpr const char *kWhat = "the semaphore";

} // namespace

Semaphore::Semaphore(std::shared_ptr<detail::Session> session, std::string path)
	: session_(std::move(session)), path_(std::move(path))
{
	detail::Session::Held held(*session_);
	proxy_ = std::make_unique<detail::SemaphoreProxy>(*session_->connection, path_);
}

Semaphore::Semaphore(Semaphore &&) noexcept = default;
Semaphore &Semaphore::operator=(Semaphore &&other) noexcept
{
	if (this != &other) {
		(void)close();
		session_ = std::move(other.session_);
		path_ = std::move(other.path_);
		proxy_ = std::move(other.proxy_);
	}
	return *this;
}

Semaphore::~Semaphore()
{
	(void)close();
}

Result<void> Semaphore::acquire(uint32_t n, std::chrono::microseconds timeout)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	const uint64_t usec = detail::timeoutUsec(timeout);
	// A ticket rather than a pending Acquire call: dbus-daemon slows down with every
	// call that awaits a reply, and a waiter may wait long.
	if (usec != 0)
		if (auto listening = detail::listen(*proxy_); !listening)
			return listening;
	auto &proxy = proxy_->getProxy();
	const detail::WaitCall call{*session_, proxy, proxy_->tickets, kInterface,
				    detail::methodCall(proxy, kInterface, "Wait", n, usec), false};
	auto granted = detail::awaitWait(
		held, call, detail::sendLater(*session_, proxy, kInterface, "Release", n), timeout);
	if (!granted)
		return detail::errorOf(granted);
	return {};
}

Result<bool> Semaphore::tryAcquire(uint32_t n)
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	auto giveBack = detail::sendLater(*session_, proxy, kInterface, "Release", n);
	return detail::readReply<bool>(session_->call(
		held, proxy, detail::methodCall(proxy, kInterface, "TryAcquire", n),
		session_->callDeadline(), [giveBack](sdbus::MethodReply &reply, bool abandoned) {
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
	return detail::readReply<void>(session_->call(
		held, proxy, detail::methodCall(proxy, kInterface, "Release", n),
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
	auto holders = detail::getProperty<Holders>(*session_, held, proxy_->getProxy(),
						    kInterface, "Holders");
	if (!holders)
		return detail::errorOf(holders);
	std::vector<SemaphoreHolder> result;
	for (const auto &holder : *holders)
		result.push_back({holder.get<0>(), holder.get<1>()});
	return result;
}

Result<void> Semaphore::close()
{
	if (!proxy_)
		return {};
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	auto result = detail::readReply<void>(session_->call(
		held, proxy, detail::methodCall(proxy, kInterface, "Close"),
		session_->callDeadline()));
	proxy_.reset();
	return result;
}

} // namespace ipchub
