// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "event_loop.hpp"
#include "futex_waiter.hpp"

namespace ipchub::bus {

// The one word of a fast object's page that ipchubd watches while bus callers wait on
// it, kept in step with what the core asks for (follow after every change): a new
// (word, value) pair replaces the old watch, none cancels it. When every watch of the
// service is taken (fast_waits_total), the object looks again every millisecond
// instead, so a wait ends late but never hangs.
class FastWatch
{
public:
	// woken: called from the loop when the word changed or was woken (maybe spuriously).
	FastWatch(EventLoop &loop, std::function<void()> woken);
	~FastWatch();
	FastWatch(const FastWatch &) = delete;
	FastWatch &operator=(const FastWatch &) = delete;

	// Watch word for a change from expected; nullopt: stop watching. The word must
	// stay mapped until the next follow or this watch goes.
	void follow(std::atomic<uint32_t> &word, std::optional<uint32_t> expected);

private:
	void stop();
	void fire();

	EventLoop &loop_;
	std::function<void()> woken_;
	std::atomic<uint32_t> *word_ = nullptr;
	std::optional<uint32_t> expected_;
	std::optional<FutexWaiter::Id> id_;
	std::unique_ptr<Timer> poll_;
};

} // namespace ipchub::bus
