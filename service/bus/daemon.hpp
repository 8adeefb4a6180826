// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "core/hub.hpp"
#include "delivery.hpp"
#include "event_loop.hpp"
#include "fd_store.hpp"
#include "manager_adaptor.hpp"
#include "path_guard.hpp"
#include "peers.hpp"

namespace ipchub::bus {

// The service on one connection: the core state, the Manager and its objects, and
// the watch on peers leaving the bus.
class Daemon
{
public:
	Daemon(sdbus::IConnection &connection, EventLoop &loop, const core::Limits &limits,
	       bool verbose);

	// No objects: nothing would be lost if the service left the bus.
	bool idle() const { return hub_.empty(); }

	// Takes back the persistent state the service manager kept for a previous
	// ipchubd, if any (see FdStore). Call before owning the bus name.
	void restore();

private:
	void onNameOwnerChanged(sdbus::Message &message);
	// Properties, Introspectable and ObjectManager calls, before sd-bus answers them.
	void onInspection(sdbus::Message &message);

	bool verbose_;
	sdbus::IConnection &connection_;
	core::Hub hub_;
	FdStore fdStore_;
	Peers peers_;
	// Before the manager, whose objects' signals it sends, and after it when ending.
	Delivery delivery_;
	ManagerAdaptor manager_;
	PathGuard pathGuard_;
	sdbus::Slot nameOwnerChanged_;
	std::vector<sdbus::Slot> propertyReads_;
};

} // namespace ipchub::bus
