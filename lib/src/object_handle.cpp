// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/object_handle.hpp"

#include "proxies.hpp"

namespace ipchub::detail {

template <typename Proxy>
ObjectHandle<Proxy>::ObjectHandle(std::shared_ptr<Session> session, std::string path)
	: session_(std::move(session)), path_(std::move(path))
{
	Session::Held held(*session_);
	proxy_ = std::make_shared<Proxy>(*session_->connection, path_);
}

template <typename Proxy>
ObjectHandle<Proxy>::ObjectHandle(ObjectHandle &&other) noexcept
	: session_(std::move(other.session_)), path_(std::move(other.path_)),
	  proxy_(std::move(other.proxy_))
{
}

template <typename Proxy>
ObjectHandle<Proxy> &ObjectHandle<Proxy>::operator=(ObjectHandle &&other) noexcept
{
	if (this != &other) {
		(void)closeObject();
		session_ = std::move(other.session_);
		path_ = std::move(other.path_);
		proxy_ = std::move(other.proxy_);
	}
	return *this;
}

template <typename Proxy>
ObjectHandle<Proxy>::~ObjectHandle()
{
	(void)closeObject();
}

template <typename Proxy>
Result<void> ObjectHandle<Proxy>::closeObject()
{
	if (!proxy_)
		return {};
	Session::Held held(*session_);
	auto &proxy = proxy_->getProxy();
	auto result = readReply<void>(
		session_->call(held, proxy, methodCall(proxy, Proxy::INTERFACE_NAME, "Close"),
			       session_->callDeadline()));
	// The proxy goes under the lock, as everything that touches the connection.
	proxy_.reset();
	return result;
}

template class ObjectHandle<SemaphoreProxy>;
template class ObjectHandle<LockProxy>;
template class ObjectHandle<SharedMemoryProxy>;

} // namespace ipchub::detail
