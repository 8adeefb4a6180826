// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/shared_memory.hpp"

#include "mapping.hpp"
#include "object_wait.hpp"
#include "proxies.hpp"

namespace ipchub {

namespace {

constexpr const char *kInterface = detail::SharedMemoryProxy::INTERFACE_NAME;
constexpr const char *kWhat = "the shared memory";

// WaitLock(usec); Unlock() gives the lock back.
// Parallels Lock's waitFor (lock.cpp) on purpose: each names its own methods.
detail::WaitMethods lockWait()
{
	return {
		.interface = kInterface,
		.wait =
			[](sdbus::IProxy &proxy, uint64_t usec) {
				return detail::methodCall(proxy, kInterface, "WaitLock", usec);
			},
		.replyHasToken = false,
		.giveBack =
			[](sdbus::IProxy &proxy) {
				return detail::methodCall(proxy, kInterface, "Unlock");
			},
	};
}

} // namespace

SharedMemoryLock::SharedMemoryLock(std::shared_ptr<detail::Session> session,
				   std::weak_ptr<detail::SharedMemoryProxy> proxy)
	: session_(std::move(session)), proxy_(std::move(proxy))
{
}

SharedMemoryLock::SharedMemoryLock(SharedMemoryLock &&) noexcept = default;

SharedMemoryLock &SharedMemoryLock::operator=(SharedMemoryLock &&other) noexcept
{
	if (this != &other) {
		(void)unlock();
		session_ = std::move(other.session_);
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
	// A closed shared-memory object's lock went back to the service with the Close.
	return !proxy_.expired();
}

Result<void> SharedMemoryLock::unlock()
{
	if (!session_)
		return {};
	Result<void> result;
	{
		detail::Session::Held held(*session_);
		// The shared-memory object holds the proxy; a closed shared-memory object's lock
		// went back with the Close.
		if (auto proxy = proxy_.lock()) {
			auto &bus = proxy->getProxy();
			result = detail::readReply<void>(
				session_->call(held, bus,
					       detail::methodCall(bus, kInterface, "Unlock"),
					       session_->callDeadline()));
		}
		proxy_.reset();
	}
	session_.reset();
	return result;
}

SharedMemory::SharedMemory(std::shared_ptr<detail::Session> session, std::string path,
			   Access access)
	: ObjectHandle(std::move(session), std::move(path)), access_(access)
{
}

SharedMemory::SharedMemory(SharedMemory &&) noexcept = default;
SharedMemory &SharedMemory::operator=(SharedMemory &&) noexcept = default;
SharedMemory::~SharedMemory() = default;

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
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	return detail::readReply<void>(session_->call(held, proxy,
						      detail::methodCall(proxy, kInterface, "Seal"),
						      session_->callDeadline()));
}

// The property getters parallel Semaphore's and Lock's on purpose: one a property.
Result<bool> SharedMemory::sealed() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<bool>(*session_, held, proxy_->getProxy(), kInterface, "Sealed");
}

Result<uint32_t> SharedMemory::attachments() const
{
	if (!proxy_)
		return detail::closedError(kWhat);
	detail::Session::Held held(*session_);
	return detail::getProperty<uint32_t>(*session_, held, proxy_->getProxy(), kInterface,
					     "Attachments");
}

PendingWait SharedMemory::lockAsync(Timeout limit,
				    std::function<void(Result<SharedMemoryLock>)> callback)
{
	auto session = session_;
	std::weak_ptr<detail::SharedMemoryProxy> weak = proxy_;
	auto complete = [session, weak, callback = std::move(callback)](Result<uint64_t> outcome) {
		if (!outcome)
			callback(errorOf(outcome));
		else
			callback(SharedMemoryLock(session, weak));
	};
	return PendingWait(session_, detail::startObjectWait(*session_, proxy_, kWhat, lockWait(),
							     limit, std::move(complete)));
}

Result<SharedMemoryLock> SharedMemory::lock(Timeout limit)
{
	auto granted = detail::awaitObject(*session_, proxy_, kWhat, lockWait(), limit);
	if (!granted)
		return errorOf(granted);
	return SharedMemoryLock(session_, proxy_);
}

Result<void> SharedMemory::close()
{
	// The mapping goes first: after close() nothing of the shared-memory object is left here.
	mapping_.reset();
	return closeObject();
}

} // namespace ipchub
