// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ipchub/pending_wait.hpp"

#include "ticket_wait.hpp"

namespace ipchub {

PendingWait::PendingWait(std::shared_ptr<detail::Session> session,
			 std::shared_ptr<detail::AsyncWait> wait)
	: session_(std::move(session)), wait_(std::move(wait))
{
}

PendingWait::PendingWait(PendingWait &&other) noexcept
	: session_(std::move(other.session_)), wait_(std::move(other.wait_))
{
}

// The move and reset under the session lock parallel Watch's (watch.cpp) on purpose:
// each owns its own state.
PendingWait &PendingWait::operator=(PendingWait &&other) noexcept
{
	if (this != &other) {
		cancel();
		session_ = std::move(other.session_);
		wait_ = std::move(other.wait_);
	}
	return *this;
}

PendingWait::~PendingWait()
{
	cancel();
}

void PendingWait::cancel()
{
	if (!wait_)
		return;
	{
		detail::Session::Held held(*session_);
		detail::cancelAsyncWait(*session_, *wait_);
		// The wait keeps its object's proxy, which goes under the lock.
		wait_.reset();
	}
	session_.reset();
}

bool PendingWait::pending() const
{
	if (!wait_)
		return false;
	detail::Session::Held held(*session_);
	return !wait_->cancelled && !wait_->ran;
}

} // namespace ipchub
