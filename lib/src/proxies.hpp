// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "fast_lock.hpp"
#include "fast_semaphore.hpp"
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
// Used under the session lock, as the connection is.
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
				tickets.endAll(dbusErrorName(ErrorCode::Failed),
					       "ipchubd left the bus while this connection waited");
			});
		listening_ = true;
	}

	// The waits of this connection queued on the object.
	TicketTable tickets;

private:
	bool listening_ = false;
	sdbus::Slot ownerChanged_;
};

// The proxy of an interface whose WaitEnded carries no token (Semaphore, SharedMemory).
template <typename Interface>
class TokenlessWaitingProxy : public WaitingProxy<Interface>
{
public:
	using WaitingProxy<Interface>::WaitingProxy;

	// The fast page's operations, set once before the object is handed out; null for
	// an object on the bus path.
	std::shared_ptr<FastSemaphore> fast;

private:
	void onWaitEnded(const uint64_t &ticket, const std::string &error,
			 const std::string &message) override
	{
		this->tickets.ended(ticket, 0, error, message);
	}
};

class SemaphoreProxy final : public TokenlessWaitingProxy<io::github::ipchub1::Semaphore_proxy>
{
public:
	using TokenlessWaitingProxy::TokenlessWaitingProxy;
};

class SharedMemoryProxy final
	: public TokenlessWaitingProxy<io::github::ipchub1::SharedMemory_proxy>
{
public:
	using TokenlessWaitingProxy::TokenlessWaitingProxy;
};

class LockProxy final : public WaitingProxy<io::github::ipchub1::Lock_proxy>
{
public:
	using WaitingProxy::WaitingProxy;

	// As SemaphoreProxy::fast.
	std::shared_ptr<FastLock> fast;

private:
	void onWaitEnded(const uint64_t &ticket, const uint64_t &token, const std::string &error,
			 const std::string &message) override
	{
		tickets.ended(ticket, token, error, message);
	}
};

// The error of a call on an object that was closed (its proxy is gone).
inline Unexpected<Error> closedError(const char *what)
{
	return fail(ErrorCode::InvalidArgument, std::string(what) + " was closed");
}

// Sends method with args on proxy without waiting for the reply: how a grant that
// nobody takes is given back.
template <typename... Args>
std::function<void()> sendLater(Session &session, sdbus::IProxy &proxy, const char *interface,
				const char *method, Args... args)
{
	return [&session, &proxy, interface, method, args...] {
		auto call = proxy.createMethodCall(interface, method);
		((call << args), ...);
		session.send(proxy, call);
	};
}

// The first argument of a reply that starts with a boolean; false if it does not.
inline bool replyFlag(sdbus::MethodReply &reply)
{
	bool flag = false;
	try {
		reply >> flag;
	} catch (const sdbus::Error &) {
		return false;
	}
	return flag;
}

// Subscribes proxy to its WaitEnded signals; an error if the bus refuses.
template <typename Proxy>
Result<void> listen(Proxy &proxy)
{
	try {
		proxy.listen();
		return {};
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "cannot subscribe to WaitEnded: " + e.getMessage());
	}
}

} // namespace ipchub::detail
