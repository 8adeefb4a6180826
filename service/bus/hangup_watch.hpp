// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <memory>

#include <sdbus-c++/Types.h>

#include "common/result.hpp"

#include "event_loop.hpp"

namespace ipchub::bus {

// The two ends of a lock handle's pipe: the caller gets the write end, the service
// keeps the read end, which hangs up once every copy of the write end is closed.
struct HandlePipe {
	sdbus::UnixFd watched;
	sdbus::UnixFd given;
};

Result<HandlePipe> makeHandlePipe();

// Calls back once when the watched fd hangs up, as logind watches an inhibitor's
// fifo. Destroying the watch stops it and closes the fd.
class HangupWatch
{
public:
	static Result<std::unique_ptr<HangupWatch>> watch(EventLoop &loop, sdbus::UnixFd fd,
							   std::function<void()> onHangup);

	HangupWatch(const HangupWatch &) = delete;
	HangupWatch &operator=(const HangupWatch &) = delete;

private:
	HangupWatch(sdbus::UnixFd fd, std::function<void()> onHangup)
		: fd_(std::move(fd)), callback_(std::move(onHangup))
	{
	}
	static int onIo(sd_event_source *, int, uint32_t, void *userdata);

	// Declared first so that it is closed last, after the source is gone.
	sdbus::UnixFd fd_;
	std::function<void()> callback_;
	EventSourcePtr source_;
};

} // namespace ipchub::bus
