// SPDX-License-Identifier: LGPL-2.1-or-later
#include "idle_exit.hpp"

#include <iostream>
#include <stdexcept>

#include <sdbus-c++/IConnection.h>

#include "common/object_path.hpp"

namespace ipchub::bus {

IdleExit::IdleExit(EventLoop &loop, sdbus::IConnection &connection, uint64_t seconds,
		   std::function<bool()> idle)
	: loop_(loop), connection_(connection), usec_(seconds * 1'000'000), idle_(std::move(idle))
{
	sd_event_source *post = nullptr;
	// A post source runs after every other dispatch: the moment to look again.
	if (sd_event_add_post(loop.event(), &post, &IdleExit::onPost, this) < 0)
		throw std::runtime_error("sd_event_add_post failed");
	post_.reset(post);
	check();
}

int IdleExit::onPost(sd_event_source *, void *userdata)
{
	static_cast<IdleExit *>(userdata)->check();
	return 0;
}

void IdleExit::check()
{
	if (!idle_()) {
		timer_.reset();
		return;
	}
	if (timer_)
		return;
	timer_ = loop_.addTimer(usec_, [this] {
		if (!idle_())
			return;
		std::cerr << "ipchubd: idle for " << usec_ / 1'000'000 << " s; leaving the bus\n";
		// Give the name up first, so that a call racing with the exit activates a
		// new ipchubd instead of reaching this one.
		try {
			connection_.releaseName(common::kBusName);
		} catch (const std::exception &) {
		}
		loop_.exit(0);
	});
}

} // namespace ipchub::bus
