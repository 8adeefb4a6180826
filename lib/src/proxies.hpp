#pragma once

#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "io.github.ipchub1.Lock.proxy.h"
#include "io.github.ipchub1.Manager.proxy.h"
#include "io.github.ipchub1.Semaphore.proxy.h"
#include "io.github.ipchub1.SharedMemory.proxy.h"
#include "session.hpp"

namespace ipchub::detail {

// The generated proxies, bound to the session's connection.
template <typename... Interfaces>
class BoundProxy : public sdbus::ProxyInterfaces<Interfaces...>
{
public:
	BoundProxy(sdbus::IConnection &connection, std::string path)
		: sdbus::ProxyInterfaces<Interfaces...>(connection, kBusName, std::move(path))
	{
		this->registerProxy();
	}
	~BoundProxy() { this->unregisterProxy(); }

	using sdbus::ProxyInterfaces<Interfaces...>::getProxy;
};

class ManagerProxy final : public BoundProxy<io::github::ipchub1::Manager_proxy>
{
	using BoundProxy::BoundProxy;
};

class SemaphoreProxy final : public BoundProxy<io::github::ipchub1::Semaphore_proxy>
{
	using BoundProxy::BoundProxy;
};

class SharedMemoryProxy final : public BoundProxy<io::github::ipchub1::SharedMemory_proxy>
{
	using BoundProxy::BoundProxy;
};

class LockProxy final : public BoundProxy<io::github::ipchub1::Lock_proxy>
{
	using BoundProxy::BoundProxy;
};

} // namespace ipchub::detail
