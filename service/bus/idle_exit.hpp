// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "event_loop.hpp"

namespace sdbus {
class IConnection;
}

namespace ipchub::bus {

// Leaves the bus once the service has been idle (no objects) for a while, so that an
// unused ipchubd costs nothing; bus activation starts it again on the next call.
class IdleExit
{
public:
	IdleExit(EventLoop &loop, sdbus::IConnection &connection, uint64_t seconds,
		 std::function<bool()> idle);

private:
	static int onPost(sd_event_source *, void *userdata);
	void check();

	EventLoop &loop_;
	sdbus::IConnection &connection_;
	uint64_t usec_;
	std::function<bool()> idle_;
	EventSourcePtr post_;
	std::unique_ptr<Timer> timer_;
};

} // namespace ipchub::bus
