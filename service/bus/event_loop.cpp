// SPDX-License-Identifier: LGPL-2.1-or-later
#include "event_loop.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>

#include <sdbus-c++/IConnection.h>

#include "futex_waiter.hpp"

namespace ipchub::bus {

namespace {

void check(int r, const char *what)
{
	if (r < 0)
		throw std::runtime_error(std::string(what) + ": " + std::strerror(-r));
}

} // namespace

int Timer::onElapsed(sd_event_source *, uint64_t, void *userdata)
{
	auto *timer = static_cast<Timer *>(userdata);
	// The callback may destroy this timer: move it out first.
	auto callback = std::move(timer->callback_);
	callback();
	return 0;
}

EventLoop::EventLoop()
{
	check(sd_event_new(&event_), "sd_event_new");
	// Its thread starts with the first watch: none without fast objects.
	futexWaiter_ = std::make_unique<FutexWaiter>(event_);
}

EventLoop::~EventLoop()
{
	retired_.clear();
	futexWaiter_.reset();
	busIo_.reset();
	busTime_.reset();
	signals_.clear();
	sd_event_unref(event_);
}

void EventLoop::attach(sdbus::IConnection &connection)
{
	connection_ = &connection;
	const auto poll = connection.getEventLoopPollData();
	sd_event_source *io = nullptr;
	check(sd_event_add_io(event_, &io, poll.fd, poll.events, &EventLoop::onBusIo, this),
	      "sd_event_add_io");
	busIo_.reset(io);
	check(sd_event_source_set_prepare(io, &EventLoop::onBusPrepare), "set_prepare");

	sd_event_source *time = nullptr;
	check(sd_event_add_time(event_, &time, CLOCK_MONOTONIC, 0, 0, &EventLoop::onBusTime, this),
	      "sd_event_add_time");
	busTime_.reset(time);
	check(sd_event_source_set_enabled(time, SD_EVENT_OFF), "set_enabled");
}

int EventLoop::onBusPrepare(sd_event_source *, void *userdata)
{
	auto *loop = static_cast<EventLoop *>(userdata);
	const auto poll = loop->connection_->getEventLoopPollData();
	sd_event_source_set_io_events(loop->busIo_.get(), static_cast<uint32_t>(poll.events));
	if (poll.timeout_usec == UINT64_MAX) {
		sd_event_source_set_enabled(loop->busTime_.get(), SD_EVENT_OFF);
	} else {
		sd_event_source_set_time(loop->busTime_.get(), poll.timeout_usec);
		sd_event_source_set_enabled(loop->busTime_.get(), SD_EVENT_ONESHOT);
	}
	return 0;
}

int EventLoop::onBusIo(sd_event_source *, int, uint32_t, void *userdata)
{
	static_cast<EventLoop *>(userdata)->processBus();
	return 0;
}

int EventLoop::onBusTime(sd_event_source *, uint64_t, void *userdata)
{
	static_cast<EventLoop *>(userdata)->processBus();
	return 0;
}

void EventLoop::processBus()
{
	try {
		while (connection_->processPendingRequest()) {
			if (messageDone_)
				messageDone_();
			buryRetired();
		}
	} catch (const std::exception &e) {
		// The connection is broken (the bus went away): nothing more can be served.
		std::cerr << "ipchubd: leaving: " << e.what() << "\n";
		exit(1);
	}
	buryRetired();
}

std::unique_ptr<Timer> EventLoop::addTimer(uint64_t timeoutUsec, std::function<void()> callback)
{
	// The clock now, not sd_event_now(): that is when this loop iteration began,
	// and a call handled late in a busy iteration would time out early.
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 +
			     static_cast<uint64_t>(ts.tv_nsec) / 1000;
	if (timeoutUsec >= UINT64_MAX - now)
		return nullptr;
	auto timer = std::make_unique<Timer>(std::move(callback));
	sd_event_source *source = nullptr;
	// Accuracy 1 µs: with 0, sd-event's default slack of 250 ms would let a 20 ms
	// timeout end a quarter of a second late.
	check(sd_event_add_time(event_, &source, CLOCK_MONOTONIC, now + timeoutUsec, 1,
				&Timer::onElapsed, timer.get()),
	      "sd_event_add_time");
	timer->source_.reset(source);
	return timer;
}

void EventLoop::exitOnSignal(int signal, int status)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, signal);
	sigprocmask(SIG_BLOCK, &mask, nullptr);
	sd_event_source *source = nullptr;
	check(sd_event_add_signal(
		      event_, &source, signal,
		      [](sd_event_source *s, const signalfd_siginfo *, void *userdata) {
			      return sd_event_exit(sd_event_source_get_event(s),
						   static_cast<int>(
							   reinterpret_cast<intptr_t>(userdata)));
		      },
		      reinterpret_cast<void *>(static_cast<intptr_t>(status))),
	      "sd_event_add_signal");
	signals_.emplace_back(source);
}

void EventLoop::retire(std::shared_ptr<void> object)
{
	retired_.push_back(std::move(object));
}

void EventLoop::buryRetired()
{
	// Destroying one object may retire another.
	while (!retired_.empty()) {
		auto batch = std::move(retired_);
		retired_.clear();
	}
}

int EventLoop::run()
{
	return sd_event_loop(event_);
}

void EventLoop::exit(int status)
{
	sd_event_exit(event_, status);
}

} // namespace ipchub::bus
