#include "ipchub/semaphore.hpp"

#include "proxies.hpp"

namespace ipchub {

Semaphore::Semaphore(std::shared_ptr<detail::Session> session, std::string path)
	: session_(std::move(session)), path_(std::move(path)),
	  proxy_(std::make_unique<detail::SemaphoreProxy>(*session_->connection, path_))
{
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
	const uint64_t usec = detail::timeoutUsec(timeout);
	if (usec == 0)
		return detail::callOpen(proxy_, "the semaphore", [&] {
			proxy_->getProxy()
				.callMethod("Acquire")
				.onInterface(detail::SemaphoreProxy::INTERFACE_NAME)
				.withArguments(n, usec);
		});
	// A ticket rather than a pending Acquire call: dbus-daemon slows down with every
	// call that awaits a reply, and a waiter may wait long.
	auto ticket = detail::callOpen(proxy_, "the semaphore", [&] {
		proxy_->listen();
		return proxy_->Wait(n, usec);
	});
	if (!ticket)
		return detail::Unexpected<Error>(ticket.error());
	if (*ticket == 0)
		return {};
	proxy_->waiting = detail::TicketEnd{};
	proxy_->waiting.ticket = *ticket;
	return detail::awaitTicket(*session_->connection, proxy_->waiting, usec,
				   [&] { proxy_->CancelWait(*ticket); });
}

Result<bool> Semaphore::tryAcquire(uint32_t n)
{
	return detail::callOpen(proxy_, "the semaphore", [&] { return proxy_->TryAcquire(n); });
}

Result<void> Semaphore::release(uint32_t n)
{
	return detail::callOpen(proxy_, "the semaphore", [&] { proxy_->Release(n); });
}

Result<uint32_t> Semaphore::value() const
{
	return detail::callOpen(proxy_, "the semaphore", [&] { return proxy_->Value(); });
}

Result<uint32_t> Semaphore::waiters() const
{
	return detail::callOpen(proxy_, "the semaphore", [&] { return proxy_->Waiters(); });
}

Result<std::vector<SemaphoreHolder>> Semaphore::holders() const
{
	return detail::callOpen(proxy_, "the semaphore", [&] {
		std::vector<SemaphoreHolder> holders;
		for (const auto &holder : proxy_->Holders())
			holders.push_back({holder.get<0>(), holder.get<1>()});
		return holders;
	});
}

Result<void> Semaphore::close()
{
	if (!proxy_)
		return {};
	auto result = detail::callBus([&] { proxy_->Close(); });
	proxy_.reset();
	return result;
}

} // namespace ipchub
