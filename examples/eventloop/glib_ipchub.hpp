// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Drives an ipchub::Client from a GLib main loop: g_unix_fd_add on Client::fd() and a
// g_timeout_add for Client::nextTimeout(), each calling Client::process(). The
// callbacks of acquireAsync and lockAsync then run in the loop's thread.

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>

#include <glib-unix.h>
#include <glib.h>

#include <ipchub/ipchub.hpp>

class GlibIpchub
{
public:
	explicit GlibIpchub(ipchub::Client &client) : client_(client)
	{
		watch_ = g_unix_fd_add(client.fd(), G_IO_IN, &GlibIpchub::onReadable, this);
		schedule();
	}
	~GlibIpchub()
	{
		g_source_remove(watch_);
		if (timer_ != 0)
			g_source_remove(timer_);
	}
	GlibIpchub(const GlibIpchub &) = delete;
	GlibIpchub &operator=(const GlibIpchub &) = delete;

	// Call after starting an asynchronous wait from outside a callback, so that the
	// timer follows the new timeout (the fd wakes the loop anyway when it is due).
	void schedule()
	{
		if (timer_ != 0)
			g_source_remove(std::exchange(timer_, 0u));
		const auto next = client_.nextTimeout();
		if (!next)
			return;
		const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next).count();
		timer_ = g_timeout_add(static_cast<guint>(std::min<long long>(ms, INT_MAX)),
				       &GlibIpchub::onTimer, this);
	}

private:
	static gboolean onReadable(gint, GIOCondition, gpointer self)
	{
		static_cast<GlibIpchub *>(self)->process();
		return G_SOURCE_CONTINUE;
	}
	static gboolean onTimer(gpointer self)
	{
		auto *adapter = static_cast<GlibIpchub *>(self);
		adapter->timer_ = 0;
		adapter->process();
		return G_SOURCE_REMOVE;
	}
	void process()
	{
		if (auto processed = client_.process(); !processed)
			std::fprintf(stderr, "ipchub: %s\n", processed.error().message.c_str());
		schedule();
	}

	ipchub::Client &client_;
	guint watch_ = 0;
	guint timer_ = 0;
};
