// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_object.hpp"

#include "fast/ids.hpp"
#include "fast/layout.hpp"
#include "received_fd.hpp"

namespace ipchub::detail {

namespace {

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";
constexpr const char *kLockInterface = "io.github.ipchub1.Lock";

} // namespace

FastObject::FastObject(std::shared_ptr<Session> session, std::weak_ptr<void> owner,
		       sdbus::IProxy &proxy, FastKind kind)
	: session_(std::move(session)), owner_(std::move(owner)), proxy_(proxy), kind_(kind)
{
}

Result<void> FastObject::attachFirst(Session::Held &held, const Deadline &deadline)
{
	if (auto watching = session_->watchService(held); !watching)
		return watching;
	return attach(held, deadline);
}

Result<void> FastObject::attach(Session::Held &held, const Deadline &deadline)
{
	// The epoch before the call: a departure during it makes this page stale at once.
	const uint64_t epoch = session_->serviceEpoch();
	const char *interface = kind_ == FastKind::Semaphore ? kSemaphoreInterface : kLockInterface;
	auto reply =
		session_->call(held, proxy_, methodCall(proxy_, interface, "AttachFast"), deadline);
	if (!reply)
		return errorOf(reply);
	auto page = std::make_unique<FastPage>();
	page->epoch = epoch;
	size_t size = 0;
	try {
		UniqueFd fd = readFd(*reply);
		*reply >> page->owner;
		if (kind_ == FastKind::Semaphore) {
			*reply >> page->attach >> page->units >> page->attachSlots;
			const fast::SemaphoreShape shape{page->units, page->attachSlots};
			if (!fast::isValid(shape) || page->attach >= page->attachSlots)
				return fail(ErrorCode::Failed,
					    "ipchubd sent a fast page of an impossible shape");
			size = fast::pageSize(shape);
		} else {
			*reply >> page->readerSlots;
			const fast::LockShape shape{page->readerSlots};
			if (!fast::isValid(shape))
				return fail(ErrorCode::Failed,
					    "ipchubd sent a fast page of an impossible shape");
			size = fast::pageSize(shape);
		}
		if (page->owner == 0 || page->owner >= fast::kOwnerLimit)
			return fail(ErrorCode::Failed, "ipchubd sent an impossible owner id");
		auto mapping = fast::mapReceivedPage(std::move(fd), size);
		if (!mapping)
			return fail(ErrorCode::Failed,
				    "cannot map the fast page: " + fast::describe(mapping.error()));
		page->mapping = std::move(*mapping);
	} catch (const sdbus::Error &e) {
		return fail(ErrorCode::Failed, "unexpected reply from ipchubd: " + e.getMessage());
	}
	current_.store(page.get(), std::memory_order_release);
	pages_.push_back(std::move(page));
	return {};
}

Result<FastPage *> FastObject::reattach(std::chrono::microseconds timeout)
{
	// A try operation still waits for the attach, as long as any call.
	const Deadline deadline = timeout.count() <= 0
					  ? session_->callDeadline()
					  : Deadline::after(timeout).min(session_->callDeadline());
	Session::Held held(*session_);
	// The proxy, kept while it is used, goes under the lock.
	auto owner = owner_.lock();
	if (!owner)
		return fail(ErrorCode::InvalidArgument,
			    "the object was closed: its fast page cannot be attached again");
	FastPage *page = current_.load(std::memory_order_acquire);
	if (page && !stale(page))
		return page;
	// Under the lock: another thread's attach in this epoch gave the page already.
	if (auto attached = attach(held, deadline); !attached) {
		if (usesBusPath(attached.error()))
			onBus_.store(true, std::memory_order_release);
		return errorOf(attached);
	}
	return current_.load(std::memory_order_acquire);
}

void FastObject::checkService()
{
	Session::Held held(*session_);
	(void)session_->dispatchPending(held);
}

fast::Deadline sliceOf(const Deadline &deadline)
{
	if (deadline.isNever())
		return fast::Deadline::after(kFastSlice);
	const auto left = deadline.left();
	if (left.count() <= 0)
		return fast::Deadline::none();
	return fast::Deadline::after(std::min<std::chrono::microseconds>(left, kFastSlice));
}

bool usesBusPath(const Error &error)
{
	return error.code == ErrorCode::InvalidArgument ||
	       error.code == ErrorCode::PermissionDenied ||
	       error.message.find("Unknown method") != std::string::npos ||
	       error.message.find("Unknown property") != std::string::npos;
}

Result<uint32_t> threadSlot()
{
	auto slot = fast::currentThreadSlot();
	if (!slot)
		return fail(ErrorCode::LimitExceeded,
			    "more live threads use fast objects than the " +
				    std::to_string(fast::kMaxSlots - 1) + " thread slots");
	return *slot;
}

} // namespace ipchub::detail
