#include "ipchub/shared_memory.hpp"

#include "mapping.hpp"
#include "proxies.hpp"

namespace ipchub {

SharedMemoryLock::SharedMemoryLock(std::weak_ptr<detail::SharedMemoryProxy> proxy)
	: proxy_(std::move(proxy))
{
}

SharedMemoryLock::SharedMemoryLock(SharedMemoryLock &&) noexcept = default;

SharedMemoryLock &SharedMemoryLock::operator=(SharedMemoryLock &&other) noexcept
{
	if (this != &other) {
		(void)unlock();
		proxy_ = std::move(other.proxy_);
	}
	return *this;
}

SharedMemoryLock::~SharedMemoryLock()
{
	(void)unlock();
}

bool SharedMemoryLock::held() const
{
	// A closed segment's lock went back to the service with the Close.
	return !proxy_.expired();
}

Result<void> SharedMemoryLock::unlock()
{
	auto proxy = proxy_.lock();
	proxy_.reset();
	if (!proxy)
		return {};
	return detail::callBus([&] { proxy->Unlock(); });
}

SharedMemory::SharedMemory(std::shared_ptr<detail::Session> session, std::string path,
			   std::shared_ptr<detail::SharedMemoryProxy> proxy,
			   std::unique_ptr<detail::Mapping> mapping, Access access)
	: session_(std::move(session)), path_(std::move(path)), proxy_(std::move(proxy)),
	  mapping_(std::move(mapping)), access_(access)
{
}

SharedMemory::SharedMemory(SharedMemory &&) noexcept = default;

SharedMemory &SharedMemory::operator=(SharedMemory &&other) noexcept
{
	if (this != &other) {
		(void)close();
		session_ = std::move(other.session_);
		path_ = std::move(other.path_);
		proxy_ = std::move(other.proxy_);
		mapping_ = std::move(other.mapping_);
		access_ = other.access_;
	}
	return *this;
}

SharedMemory::~SharedMemory()
{
	(void)close();
}

size_t SharedMemory::size() const
{
	return mapping_ ? mapping_->size() : 0;
}

Span<std::byte> SharedMemory::data()
{
	if (!mapping_ || access_ != Access::ReadWrite)
		return {};
	return {mapping_->data(), mapping_->size()};
}

Span<const std::byte> SharedMemory::constData() const
{
	if (!mapping_)
		return {};
	return {mapping_->data(), mapping_->size()};
}

int SharedMemory::fd() const
{
	return mapping_ ? mapping_->fd() : -1;
}

Result<void> SharedMemory::seal()
{
	return detail::callOpen(proxy_, "the shared memory", [&] { proxy_->Seal(); });
}

Result<bool> SharedMemory::sealed() const
{
	return detail::callOpen(proxy_, "the shared memory", [&] { return proxy_->Sealed(); });
}

Result<uint32_t> SharedMemory::attachments() const
{
	return detail::callOpen(proxy_, "the shared memory",
				[&] { return proxy_->Attachments(); });
}

Result<SharedMemoryLock> SharedMemory::lock(std::chrono::microseconds timeout)
{
	const uint64_t usec = detail::timeoutUsec(timeout);
	// A ticket rather than a pending Lock call (usec 0 fails at once with
	// WouldBlock): dbus-daemon slows down with every call that awaits a reply.
	auto ticket = detail::callOpen(proxy_, "the shared memory", [&] {
		if (usec != 0)
			proxy_->listen();
		return proxy_->WaitLock(usec);
	});
	if (!ticket)
		return detail::Unexpected<Error>(ticket.error());
	if (*ticket != 0) {
		proxy_->waiting = detail::TicketEnd{};
		proxy_->waiting.ticket = *ticket;
		auto waited = detail::awaitTicket(*session_->connection, proxy_->waiting, usec,
						  [&] { proxy_->CancelWait(*ticket); });
		if (!waited)
			return detail::Unexpected<Error>(waited.error());
	}
	return SharedMemoryLock(proxy_);
}

Result<void> SharedMemory::close()
{
	// The mapping goes first: after close() nothing of the segment is left here.
	mapping_.reset();
	if (!proxy_)
		return {};
	auto result = detail::callBus([&] { proxy_->Close(); });
	proxy_.reset();
	return result;
}

} // namespace ipchub
