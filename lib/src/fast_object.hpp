// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// A fast object's pages as this connection attached them (AttachFast), and what the
// operations on them share: the waits in slices and the re-attach after ipchubd came
// back. A page belongs to the service epoch it was attached in (Session::serviceEpoch):
// once ipchubd left the bus, or this connection did, what was held on it is lost, and
// the next operation attaches the new page.
//
// Operations read the current page without the session lock (an atomic pointer); the
// pages of earlier epochs stay mapped until the object goes, so a thread still on one
// never touches an unmapped page.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "deadline.hpp"
#include "fast/futex.hpp"
#include "fast/page.hpp"
#include "ipchub/result.hpp"
#include "session.hpp"

namespace ipchub::detail {

// One attachment: the mapping and what AttachFast said of it.
struct FastPage {
	fast::Mapping mapping;
	uint32_t owner = 0;
	// The semaphore's attach slot and sizes; the lock's reader slots.
	uint32_t attach = 0;
	uint32_t units = 0;
	uint32_t attachSlots = 0;
	uint32_t readerSlots = 0;
	uint64_t epoch = 0;
};

// What AttachFast's reply carries besides the page, by kind.
enum class FastKind {
	Semaphore,
	Lock
};

class FastObject
{
public:
	// proxy: the object's proxy, which owner keeps (the object's handle owns this
	// too; guards may keep this longer, and then cannot re-attach).
	FastObject(std::shared_ptr<Session> session, std::weak_ptr<void> owner,
		   sdbus::IProxy &proxy, FastKind kind);
	virtual ~FastObject() = default;
	FastObject(const FastObject &) = delete;
	FastObject &operator=(const FastObject &) = delete;

	// The page to use now: the current one, or a new one attached first when ipchubd
	// or the connection changed since (waiting at most timeout, and the call
	// timeout). Under no lock; no clock read while the page is current.
	Result<FastPage *> page(std::chrono::microseconds timeout)
	{
		FastPage *page = current_.load(std::memory_order_acquire);
		if (page && !stale(page)) [[likely]]
			return page;
		return reattach(timeout);
	}
	// Whether the object left the page for the bus path: ipchubd came back without
	// making it fast again. Operations then go through the bus.
	bool onBus() const { return onBus_.load(std::memory_order_acquire); }
	// Whether page belongs to an earlier epoch: what is held on it is lost.
	bool stale(const FastPage *page) const { return page->epoch != session_->serviceEpoch(); }
	// Reads what has arrived on the connection (ipchubd's departure, say), without
	// waiting: how a long fast wait notices a restart.
	void checkService();

	// Attaches under the session lock: the object's first page. The error of
	// AttachFast as it came (InvalidArgument: not a fast object, PermissionDenied: an
	// app let in by allowed_apps).
	Result<void> attachFirst(Session::Held &held, const Deadline &deadline);

protected:
	const std::shared_ptr<Session> session_;

private:
	Result<FastPage *> reattach(std::chrono::microseconds timeout);
	Result<void> attach(Session::Held &held, const Deadline &deadline);

	std::weak_ptr<void> owner_;
	sdbus::IProxy &proxy_;
	const FastKind kind_;
	std::atomic<FastPage *> current_{nullptr};
	std::atomic<bool> onBus_{false};
	// Under the session lock: every page attached, the current one last.
	std::vector<std::unique_ptr<FastPage>> pages_;
};

// How long a fast wait sleeps before it looks at the connection: the bound on how late
// a waiter on a page that ipchubd abandoned (it restarted) notices.
inline constexpr std::chrono::milliseconds kFastSlice{50};

// The part of deadline a wait sleeps in one slice.
fast::Deadline sliceOf(const Deadline &deadline);
// A fast deadline for a whole wait (no slicing: the try operations).
inline bool isTry(const Deadline &deadline)
{
	return !deadline.isNever() && deadline.passed();
}

// Whether an AttachFast error means "use the bus path": not a fast object, a caller
// outside the object's scope, or an ipchubd without fast objects.
bool usesBusPath(const Error &error);

// The calling thread's slot (never 0: slot 0 is the bus path's, ipchubd acting for the
// connection); LimitExceeded with more live threads than slots.
Result<uint32_t> threadSlot();

} // namespace ipchub::detail
