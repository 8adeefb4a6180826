// SPDX-License-Identifier: LGPL-2.1-or-later
#include "session.hpp"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "ipchub/timeout.hpp"
#include "ticket_wait.hpp"

namespace ipchub::detail {

uint64_t timeoutUsec(std::chrono::microseconds timeout)
{
	if (timeout == kForever)
		return UINT64_MAX;
	return timeout.count() <= 0 ? 0 : static_cast<uint64_t>(timeout.count());
}

bool isNoService(const sdbus::Error &error)
{
	const std::string &name = error.getName();
	return name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
	       name == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

Error callError(const sdbus::Error &error)
{
	const std::string &name = error.getName();
	if (name == "org.freedesktop.DBus.Error.NoReply")
		return {ErrorCode::Failed,
			"ipchubd gave no reply (it may have left the bus during the "
			"call; what the call did is unknown): " +
				error.getMessage()};
	if (name == "org.freedesktop.DBus.Error.UnknownObject" ||
	    name == "org.freedesktop.DBus.Error.UnknownInterface")
		return {ErrorCode::NotFound,
			"the object is gone: it was removed, or ipchubd restarted "
			"and it was not persistent (" +
				error.getMessage() + ")"};
	if (isNoService(error))
		return {ErrorCode::Failed, "ipchubd is not on the bus: " + error.getMessage()};
	return {errorCodeFromDbusName(name), error.getMessage()};
}

std::chrono::milliseconds restartWait()
{
	if (const char *text = std::getenv("IPCHUB_RESTART_WAIT_MS"))
		return std::chrono::milliseconds(std::strtoul(text, nullptr, 10));
	return std::chrono::milliseconds(5000);
}

Session::Held::Held(Session &session) : session_(session), lock_(session.mutex_)
{
}

Session::Held::~Held()
{
	if (lock_.owns_lock() && session_.polling_ && session_.dirty_)
		session_.poke();
}

Session::Session() : wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
}

Session::~Session()
{
	// Proxies and matches go before the connection they use.
	manager_.reset();
	serviceWatch_.reset();
}

Result<void> Session::watchService(Held &)
{
	if (serviceWatch_)
		return {};
	try {
		serviceWatch_ = connection->addMatch(
			std::string("type='signal',sender='org.freedesktop.DBus',"
				    "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
				    "arg0='") +
				kBusName + "'",
			[this](sdbus::Message &) {
				serviceEpoch_.fetch_add(1, std::memory_order_acq_rel);
			});
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed,
			    "cannot subscribe to ipchubd's departures: " + e.getMessage());
	}
	return {};
}

sdbus::IProxy &Session::manager(Held &)
{
	if (!manager_)
		manager_ = proxy(kManagerPath);
	return *manager_;
}

void Session::poke()
{
	const uint64_t one = 1;
	// A full counter already wakes the poller.
	(void)!write(wake_.get(), &one, sizeof one);
}

Result<bool> Session::dispatch(Held &)
{
	bool any = false;
	try {
		while (connection->processPendingRequest())
			any = true;
	} catch (const sdbus::Error &e) {
		// What ipchubd gave this connection is gone with it (fast holds included).
		serviceEpoch_.fetch_add(1, std::memory_order_acq_rel);
		Error error{ErrorCode::Failed, "the bus connection failed: " + e.getMessage()};
		notifier.connectionFailed(*this, error);
		return Unexpected<Error>(std::move(error));
	}
	if (any)
		progressed_.notify_all();
	return any;
}

Result<bool> Session::waitUntil(Held &held, const std::function<bool()> &done, Deadline deadline)
{
	for (;;) {
		auto dispatched = dispatch(held);
		if (!dispatched)
			return errorOf(dispatched);
		if (done())
			return true;
		if (deadline.passed())
			return false;
		if (polling_) {
			// Another thread polls; what this one sent may change what it polls for.
			if (dirty_)
				poke();
			if (deadline.isNever())
				progressed_.wait(held.lock_);
			else
				progressed_.wait_until(held.lock_, deadline.when());
			continue;
		}
		const auto data = pollData();
		if (!data)
			return fail(ErrorCode::Failed, "the bus connection is closed");
		Deadline wake = deadline;
		if (const auto busTimeout = data->getRelativeTimeout())
			wake = wake.min(Deadline::after(*busTimeout));
		polling_ = true;
		dirty_ = false;
		held.lock_.unlock();
		pollfd fds[2] = {{data->fd, data->events, 0}, {wake_.get(), POLLIN, 0}};
		const int polled = ::poll(fds, 2, wake.pollMs());
		const int saved = errno;
		if (fds[1].revents & POLLIN) {
			uint64_t count = 0;
			(void)!read(wake_.get(), &count, sizeof count);
		}
		held.lock_.lock();
		polling_ = false;
		// Someone else may take over the polling.
		progressed_.notify_all();
		if (polled < 0 && saved != EINTR)
			return fail(ErrorCode::Failed,
				    std::string("poll on the bus connection failed: ") +
					    std::strerror(saved));
	}
}

namespace {

// One call's outcome, filled in by its reply's dispatch.
struct PendingCall {
	bool done = false;
	bool abandoned = false;
	std::optional<sdbus::MethodReply> reply;
	std::optional<sdbus::Error> error;
	Session::ReplyHook hook;
};

} // namespace

void Session::send(sdbus::IProxy &proxy, const sdbus::MethodCall &call, ReplyHook hook)
{
	dirty_ = true;
	proxy.callMethod(
		call,
		[hook = std::move(hook)](sdbus::MethodReply &reply, const sdbus::Error *error) {
			if (!error && hook)
				hook(reply, true);
		},
		callDeadline().busTimeoutUsec());
}

Result<sdbus::MethodReply> Session::call(Held &held, sdbus::IProxy &proxy, const MakeCall &make,
					 Deadline deadline, ReplyHook hook)
{
	const Deadline restarted = Deadline::after(restartWait()).min(deadline);
	for (;;) {
		auto pending = std::make_shared<PendingCall>();
		pending->hook = hook;
		try {
			dirty_ = true;
			proxy.callMethod(
				make(),
				[this, pending](sdbus::MethodReply &reply,
						const sdbus::Error *error) {
					pending->done = true;
					if (error) {
						if (error->getName().rfind(kErrorPrefix, 0) == 0)
							served_ = true;
						pending->error = *error;
						return;
					}
					served_ = true;
					if (pending->hook)
						pending->hook(reply, pending->abandoned);
					if (!pending->abandoned)
						pending->reply = reply;
				},
				// A call whose late reply matters (it grants something) is kept
				// after the caller gives up, so that its hook gives the grant back.
				(hook ? deadline.plus(callTimeout_) : deadline).busTimeoutUsec());
		} catch (const sdbus::Error &e) {
			return fail(ErrorCode::Failed, "cannot send to ipchubd: " + e.getMessage());
		}
		auto finished = waitUntil(
			held, [&] { return pending->done; }, deadline);
		if (!finished || !*finished) {
			// A late reply still runs the hook, which gives back what it grants.
			pending->abandoned = true;
			if (!finished)
				return errorOf(finished);
			return fail(ErrorCode::Timeout,
				    "ipchubd did not answer within the timeout");
		}
		if (pending->reply)
			return std::move(*pending->reply);
		const sdbus::Error &error = *pending->error;
		if (error.getName() == "org.freedesktop.DBus.Error.Timeout" ||
		    error.getName() == "org.freedesktop.DBus.Error.NoReply") {
			if (deadline.passed())
				return fail(ErrorCode::Timeout,
					    "ipchubd did not answer within the timeout");
		}
		if (!isNoService(error) || !served_)
			return Unexpected<Error>(callError(error));
		// ipchubd is restarting: the call never reached a service.
		const Deadline step = Deadline::after(std::chrono::milliseconds(20)).min(restarted);
		if (restarted.passed())
			return Unexpected<Error>(callError(error));
		auto slept = waitUntil(
			held, [] { return false; }, step);
		if (!slept)
			return errorOf(slept);
	}
}

namespace {

// Empties an eventfd or a timerfd, so that the epoll fd is not readable for it.
void drain(const UniqueFd &fd)
{
	uint64_t count = 0;
	if (fd)
		(void)!read(fd.get(), &count, sizeof count);
}

// The steady clock's time as CLOCK_MONOTONIC microseconds (the same clock on Linux).
uint64_t monotonicUsec(Deadline::Clock::time_point when)
{
	using namespace std::chrono;
	return static_cast<uint64_t>(duration_cast<microseconds>(when.time_since_epoch()).count());
}

} // namespace

int Session::loopFd(Held &held)
{
	if (epoll_)
		return epoll_.get();
	UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
	UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
	UniqueFd notify(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!epoll || !timer || !notify)
		return -1;
	const auto data = pollData();
	if (!data)
		return -1;
	const int busFd = data->fd;
	for (int fd : {busFd, timer.get(), notify.get()}) {
		epoll_event event{};
		event.events = EPOLLIN;
		event.data.fd = fd;
		if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event) < 0)
			return -1;
	}
	epoll_ = std::move(epoll);
	timer_ = std::move(timer);
	notify_ = std::move(notify);
	if (!completions_.empty() || !listeners_.empty())
		queueCompletion(nullptr, {});
	arm(held);
	return epoll_.get();
}

void Session::arm(Held &)
{
	if (!epoll_)
		return;
	// A closed connection has no fd to watch any more (epoll dropped it with its
	// close): only the timers and completions are left.
	uint64_t due = UINT64_MAX;
	if (const auto data = pollData()) {
		epoll_event event{};
		event.events = ((data->events & POLLIN) ? EPOLLIN : 0u) |
			       ((data->events & POLLOUT) ? EPOLLOUT : 0u);
		event.data.fd = data->fd;
		(void)epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, data->fd, &event);
		due = data->timeout_usec;
	}
	if (!timers_.empty())
		due = std::min(due, monotonicUsec(timers_.begin()->first));
	itimerspec spec{};
	if (due != UINT64_MAX) {
		// 0 would disarm the timer: a due time in the past is any time in the past.
		due = std::max<uint64_t>(due, 1);
		spec.it_value.tv_sec = static_cast<time_t>(due / 1'000'000);
		spec.it_value.tv_nsec = static_cast<long>(due % 1'000'000 * 1000);
	}
	(void)timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

std::optional<std::chrono::microseconds> Session::nextTimeout(Held &)
{
	using namespace std::chrono;
	if (!completions_.empty() || !listeners_.empty())
		return microseconds(0);
	std::optional<Deadline::Clock::time_point> due;
	if (const auto data = pollData())
		if (const auto busTimeout = data->getRelativeTimeout())
			due = Deadline::after(*busTimeout).when();
	if (!timers_.empty() && (!due || timers_.begin()->first < *due))
		due = timers_.begin()->first;
	if (!due)
		return std::nullopt;
	const auto now = Deadline::Clock::now();
	if (*due <= now)
		return microseconds(0);
	return ceil<microseconds>(*due - now);
}

void Session::addTimer(Deadline when, std::function<void()> fire)
{
	if (when.isNever())
		return;
	timers_.emplace(when.when(), std::move(fire));
}

std::optional<sdbus::IConnection::PollData> Session::pollData() const
{
	try {
		return connection->getEventLoopPollData();
	} catch (const sdbus::Error &) {
		return std::nullopt;
	}
}

void Session::queueListener(std::shared_ptr<Listener> listener)
{
	if (listener->queued)
		return;
	listener->queued = true;
	listeners_.push_back(std::move(listener));
	queueCompletion(nullptr, {});
}

void Session::queueCompletion(std::shared_ptr<AsyncWait> wait, Result<uint64_t> outcome)
{
	if (wait)
		completions_.emplace_back(std::move(wait), std::move(outcome));
	if (notify_) {
		const uint64_t one = 1;
		(void)!write(notify_.get(), &one, sizeof one);
	}
}

Result<void> Session::process()
{
	std::vector<std::pair<std::shared_ptr<AsyncWait>, Result<uint64_t>>> ready;
	// Released outside the lock: a cancelled listener holds nothing of the connection
	// (drop), only what its callback captured, which may call the Client when it goes.
	std::vector<std::shared_ptr<Listener>> queued;
	std::vector<std::pair<Listener *, std::function<void()>>> told;
	Result<bool> dispatched;
	{
		Held held(*this);
		drain(timer_);
		drain(notify_);
		dispatched = dispatch(held);
		const auto now = Deadline::Clock::now();
		while (!timers_.empty() && timers_.begin()->first <= now) {
			auto fire = std::move(timers_.begin()->second);
			timers_.erase(timers_.begin());
			fire();
		}
		for (auto &completion : completions_) {
			auto &[wait, outcome] = completion;
			if (!wait->cancelled)
				ready.push_back(std::move(completion));
			else if (outcome && wait->ticket->giveBack)
				wait->ticket->giveBack();
		}
		completions_.clear();
		queued.swap(listeners_);
		for (auto &listener : queued) {
			listener->queued = false;
			if (!listener->cancelled)
				if (auto call = listener->take())
					told.emplace_back(listener.get(), std::move(call));
		}
		arm(held);
	}
	for (auto &[wait, outcome] : ready) {
		if (wait->cancelled)
			continue;
		wait->ran = true;
		// Moved out: what the callback holds goes here, outside the lock.
		auto complete = std::move(wait->complete);
		if (complete)
			complete(outcome);
	}
	for (auto &[listener, call] : told)
		if (!listener->cancelled)
			call();
	if (!ready.empty()) {
		// The waits' proxies go under the lock.
		Held held(*this);
		ready.clear();
	}
	if (!dispatched)
		return errorOf(dispatched);
	return {};
}

} // namespace ipchub::detail
