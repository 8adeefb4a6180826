// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <systemd/sd-event.h>

namespace sdbus {
class IConnection;
}

namespace ipchub::bus {

class FutexWaiter;

// Parallels SlotUnref (sd_bus_access.hpp) on purpose: another sd type, another unref.
struct EventSourceUnref {
	void operator()(sd_event_source *source) const { sd_event_source_disable_unref(source); }
};
using EventSourcePtr = std::unique_ptr<sd_event_source, EventSourceUnref>;

// A one-shot timer on the loop; destroying it disarms it.
class Timer
{
public:
	explicit Timer(std::function<void()> callback) : callback_(std::move(callback)) {}

private:
	friend class EventLoop;
	static int onElapsed(sd_event_source *, uint64_t, void *userdata);

	std::function<void()> callback_;
	EventSourcePtr source_;
};

// The daemon's single sd-event loop: the bus connection, wait timers, signals and the
// fds the service watches all run on it, so nothing ever blocks a thread.
class EventLoop
{
public:
	EventLoop();
	~EventLoop();
	EventLoop(const EventLoop &) = delete;
	EventLoop &operator=(const EventLoop &) = delete;

	sd_event *event() const { return event_; }
	// Waits on fast objects' futex words for the loop (see FutexWaiter).
	FutexWaiter &futexWaiter() { return *futexWaiter_; }

	// Dispatches the connection's messages from the loop.
	void attach(sdbus::IConnection &connection);
	// Runs callback after timeoutUsec; nullptr when the timeout is too far off to
	// ever elapse (it waits without limit then).
	std::unique_ptr<Timer> addTimer(uint64_t timeoutUsec, std::function<void()> callback);
	// Ends run() with status when signal arrives. The signal is blocked first.
	void exitOnSignal(int signal, int status);
	// Keeps object alive until the current message has been handled: objects that a
	// method call removes must not be destroyed inside that call.
	void retire(std::shared_ptr<void> object);

	// Called after every message the connection has handled.
	void setMessageDoneHandler(std::function<void()> handler)
	{
		messageDone_ = std::move(handler);
	}

	int run();
	void exit(int status);

private:
	static int onBusIo(sd_event_source *, int, uint32_t, void *userdata);
	static int onBusTime(sd_event_source *, uint64_t, void *userdata);
	static int onBusPrepare(sd_event_source *, void *userdata);
	void processBus();
	void buryRetired();

	sd_event *event_ = nullptr;
	sdbus::IConnection *connection_ = nullptr;
	EventSourcePtr busIo_;
	EventSourcePtr busTime_;
	std::vector<EventSourcePtr> signals_;
	std::vector<std::shared_ptr<void>> retired_;
	std::function<void()> messageDone_;
	std::unique_ptr<FutexWaiter> futexWaiter_;
};

} // namespace ipchub::bus
