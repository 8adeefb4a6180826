// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hangup_watch.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace ipchub::bus {

Result<HandlePipe> makeHandlePipe()
{
	int fds[2];
	// No O_NONBLOCK: the write end's file description is the caller's to use.
	if (pipe2(fds, O_CLOEXEC) < 0) {
		const int error = errno;
		return fail(ErrorCode::Failed, std::string("cannot create a lock handle: pipe2: ") +
						       std::strerror(error));
	}
	return HandlePipe{sdbus::UnixFd(fds[0], sdbus::adopt_fd),
			  sdbus::UnixFd(fds[1], sdbus::adopt_fd)};
}

Result<std::unique_ptr<HangupWatch>> HangupWatch::watch(EventLoop &loop, sdbus::UnixFd fd,
							 std::function<void()> onHangup)
{
	std::unique_ptr<HangupWatch> watch(new HangupWatch(std::move(fd), std::move(onHangup)));
	sd_event_source *source = nullptr;
	// No events asked for: epoll always reports EPOLLHUP and EPOLLERR, and data the
	// caller may write into its end must not wake the loop.
	const int r = sd_event_add_io(loop.event(), &source, watch->fd_.get(), 0,
				      &HangupWatch::onIo, watch.get());
	if (r < 0)
		return fail(ErrorCode::Failed,
			    std::string("cannot watch a lock handle: sd_event_add_io: ") +
				    std::strerror(-r));
	watch->source_.reset(source);
	return watch;
}

int HangupWatch::onIo(sd_event_source *source, int, uint32_t, void *userdata)
{
	auto *watch = static_cast<HangupWatch *>(userdata);
	// The hang-up stays reported until the fd goes, so fire once; the callback may
	// destroy this watch, so move it out first.
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
	auto callback = std::move(watch->callback_);
	if (callback)
		callback();
	return 0;
}

} // namespace ipchub::bus
