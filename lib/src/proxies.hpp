#pragma once

#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "io.github.ipchub1.Lock.proxy.h"
#include "io.github.ipchub1.Manager.proxy.h"
#include "io.github.ipchub1.Semaphore.proxy.h"
#include "io.github.ipchub1.SharedMemory.proxy.h"
#include "session.hpp"
#include "ticket_wait.hpp"

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

// A proxy of an interface with Wait and WaitEnded. It subscribes to WaitEnded only on
// the first ticketed wait (listen: one AddMatch), so objects that never wait pay nothing.
template <typename Interface>
class WaitingProxy : public sdbus::ProxyInterfaces<Interface>
{
public:
	WaitingProxy(sdbus::IConnection &connection, std::string path)
		: sdbus::ProxyInterfaces<Interface>(connection, kBusName, std::move(path))
	{
	}
	~WaitingProxy() { this->unregisterProxy(); }

	using sdbus::ProxyInterfaces<Interface>::getProxy;

	void listen()
	{
		if (listening_)
			return;
		this->registerProxy();
		// ipchubd leaving the bus ends every ticket: no WaitEnded would come, and no
		// pending call is there for dbus-daemon to fail.
		ownerChanged_ = this->getProxy().getConnection().addMatch(
			std::string("type='signal',sender='org.freedesktop.DBus',"
				    "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
				    "arg0='") +
				kBusName + "'",
			[this](sdbus::Message &) {
				ended(waiting.ticket, 0, "io.github.ipchub1.Error.Failed",
				      "ipchubd left the bus while this connection waited");
			});
		listening_ = true;
	}

	// The ticket the calling thread waits for (one per Client at a time).
	TicketEnd waiting;

protected:
	void ended(uint64_t ticket, uint64_t token, const std::string &error,
		   const std::string &message)
	{
		if (ticket == 0 || ticket != waiting.ticket || waiting.ended)
			return;
		waiting.ended = true;
		waiting.token = token;
		waiting.error = error;
		waiting.message = message;
	}

private:
	bool listening_ = false;
	sdbus::Slot ownerChanged_;
};

class SemaphoreProxy final : public WaitingProxy<io::github::ipchub1::Semaphore_proxy>
{
public:
	using WaitingProxy::WaitingProxy;

private:
	void onWaitEnded(const uint64_t &ticket, const std::string &error,
			 const std::string &message) override
	{
		ended(ticket, 0, error, message);
	}
};

class SharedMemoryProxy final : public WaitingProxy<io::github::ipchub1::SharedMemory_proxy>
{
public:
	using WaitingProxy::WaitingProxy;

private:
	void onWaitEnded(const uint64_t &ticket, const std::string &error,
			 const std::string &message) override
	{
		ended(ticket, 0, error, message);
	}
};

class LockProxy final : public WaitingProxy<io::github::ipchub1::Lock_proxy>
{
public:
	using WaitingProxy::WaitingProxy;

private:
	void onWaitEnded(const uint64_t &ticket, const uint64_t &token, const std::string &error,
			 const std::string &message) override
	{
		ended(ticket, token, error, message);
	}
};

} // namespace ipchub::detail
