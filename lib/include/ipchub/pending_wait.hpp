// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>

namespace ipchub {

namespace detail {
class Session;
struct AsyncWait;
} // namespace detail

// Its handle parallels Subscription's (subscription.hpp) on purpose (see there).
//
// An asynchronous wait, from Semaphore::acquireAsync, Lock::acquireAsync or
// SharedMemory::lockAsync. Its callback runs once, from Client::process(), unless the
// wait is cancelled first; destroying the handle cancels it (discarding it cancels at
// once, hence [[nodiscard]]). A grant that comes after the cancel is given back.
class [[nodiscard]] PendingWait
{
public:
	PendingWait() = default;
	// A moved-from handle cancels nothing; assigning over a handle cancels its wait.
	PendingWait(PendingWait &&other) noexcept;
	PendingWait &operator=(PendingWait &&other) noexcept;
	~PendingWait();

	// Ends the wait: the callback will not run. Called from the thread that calls
	// Client::process(), this is exact; from another thread, a callback that process()
	// is running already finishes.
	void cancel();
	// Whether the callback is still to run.
	bool pending() const;

private:
	friend class Semaphore;
	friend class Lock;
	friend class SharedMemory;
	PendingWait(std::shared_ptr<detail::Session> session,
		    std::shared_ptr<detail::AsyncWait> wait);

	std::shared_ptr<detail::Session> session_;
	std::shared_ptr<detail::AsyncWait> wait_;
};

} // namespace ipchub
