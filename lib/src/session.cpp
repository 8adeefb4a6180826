#include "session.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "ipchub/timeout.hpp"

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
		return {ErrorCode::Failed, "ipchubd gave no reply (it may have left the bus during the "
					   "call; what the call did is unknown): " +
						   error.getMessage()};
	if (name == "org.freedesktop.DBus.Error.UnknownObject" ||
	    name == "org.freedesktop.DBus.Error.UnknownInterface")
		return {ErrorCode::NotFound, "the object is gone: it was removed, or ipchubd restarted "
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
	// Proxies go before the connection they use.
	manager_.reset();
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
		return fail(ErrorCode::Failed, "the bus connection failed: " + e.getMessage());
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
		const auto data = connection->getEventLoopPollData();
		Deadline wake = deadline;
		if (const auto busTimeout = data.getRelativeTimeout())
			wake = wake.min(Deadline::after(*busTimeout));
		polling_ = true;
		dirty_ = false;
		held.lock_.unlock();
		pollfd fds[2] = {{data.fd, data.events, 0}, {wake_.get(), POLLIN, 0}};
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

} // namespace ipchub::detail
