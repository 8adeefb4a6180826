// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <systemd/sd-event.h>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "event_loop.hpp"

namespace ipchub::bus {

// Waits on futex words of fast pages in helper threads and tells the event loop through
// an eventfd; callbacks run on the loop thread, never a helper thread, so ipchubd's loop
// never blocks on a word.
//
// Each helper thread sleeps in one futex_waitv (Linux 5.16) on up to kWordsPerThread
// words plus a private word of its own, which watch() and cancel() change to make it
// take up the new set. Threads start when first needed, up to kMaxThreads: at most
// kMaxWords distinct (word, expected value) pairs at once (the limit fast_waits_total);
// watches of the same pair share one slot. Without futex_waitv (ENOSYS) the threads poll
// their words every kPollInterval instead, which the log says once: a value change is
// seen within that time, a FUTEX_WAKE that changes nothing is not.
//
// watch() and cancel() are called on the loop thread.
class FutexWaiter
{
public:
	using Id = uint64_t;

	static constexpr size_t kWordsPerThread = 127;
	static constexpr size_t kMaxThreads = 8;
	static constexpr size_t kMaxWords = kWordsPerThread * kMaxThreads;
	static constexpr std::chrono::milliseconds kPollInterval{1};

	enum class Backend : uint8_t {
		// futex_waitv where the kernel has it, else Poll.
		Automatic,
		WaitV,
		Poll,
	};

	// Adds the eventfd source to the loop; no thread runs before the first watch.
	explicit FutexWaiter(sd_event *loop, Backend backend = Backend::Automatic);
	// Stops and joins the threads; no callback runs afterwards.
	~FutexWaiter();
	FutexWaiter(const FutexWaiter &) = delete;
	FutexWaiter &operator=(const FutexWaiter &) = delete;

	// Calls woken() once from the loop when *word != expected or a FUTEX_WAKE reached
	// it, then forgets the watch (spurious calls allowed: the caller re-checks and
	// re-arms). The word is a shared futex (no FUTEX_PRIVATE_FLAG) and must stay mapped
	// until cancel() returns or woken() is called. Throws the D-Bus LimitExceeded error
	// naming fast_waits_total when kMaxWords pairs are watched already.
	Id watch(std::atomic<uint32_t> &word, uint32_t expected, std::function<void()> woken);
	// The same, with the refusal as a Result.
	Result<Id> tryWatch(std::atomic<uint32_t> &word, uint32_t expected,
			    std::function<void()> woken);
	// No call of the watch's woken() after this returns; unknown or spent ids are
	// ignored. Callable from a woken() callback.
	void cancel(Id id);
	// Watches armed, not yet called or cancelled.
	size_t size() const { return watches_.size(); }

	// What the threads wait with: WaitV or Poll.
	Backend backend() const { return backend_; }
	// Helper threads started so far.
	size_t threads() const;

private:
	// A (word, expected value) pair a thread waits on, and the watches on it.
	using Key = std::pair<std::atomic<uint32_t> *, uint32_t>;
	struct Slot {
		Key key;
		std::vector<Id> ids;
	};
	struct Thread {
		// Changed and woken to make the thread rebuild its set or stop.
		std::atomic<uint32_t> interrupt{0};
		std::vector<Slot> slots;
		std::thread thread;
	};
	struct Watch {
		Key key;
		std::function<void()> woken;
	};

	static int onEvent(sd_event_source *, int, uint32_t, void *userdata);
	void run(Thread &thread);
	// With mutex_ held: moves a slot's watches to ready_; true if it had any.
	bool fire(Thread &thread, size_t slot);
	static void interrupt(Thread &thread);
	void dispatch();

	Backend backend_;
	UniqueFd event_;
	EventSourcePtr source_;

	// Loop thread only.
	std::unordered_map<Id, Watch> watches_;
	Id nextId_ = 1;

	// The threads' shared state.
	mutable std::mutex mutex_;
	std::vector<std::unique_ptr<Thread>> threads_;
	// Which thread waits on each pair.
	std::map<Key, Thread *> where_;
	// Watches whose word changed or was woken, for the loop to call.
	std::vector<Id> ready_;
	bool stopping_ = false;
};

} // namespace ipchub::bus
