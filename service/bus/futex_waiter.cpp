// SPDX-License-Identifier: LGPL-2.1-or-later
#include "futex_waiter.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/limits.hpp"
#include "errors.hpp"

namespace ipchub::bus {

static_assert(FutexWaiter::kWordsPerThread + 1 <= FUTEX_WAITV_MAX,
	      "a thread's words and its own fit one futex_waitv");
static_assert(core::Limits{}.fastWaitsTotal == FutexWaiter::kMaxWords,
	      "the Limits property shows the waiter's bound");

namespace {

bool haveWaitV()
{
	// No waiters is EINVAL where the call exists.
	return syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, 0) == 0 || errno != ENOSYS;
}

futex_waitv waiter(std::atomic<uint32_t> *word, uint32_t expected, uint32_t flags)
{
	futex_waitv entry{};
	entry.val = expected;
	entry.uaddr = reinterpret_cast<uintptr_t>(word);
	entry.flags = flags;
	return entry;
}

} // namespace

FutexWaiter::FutexWaiter(sd_event *loop, Backend backend) : backend_(backend)
{
	if (backend_ != Backend::Poll) {
		const bool waitv = haveWaitV();
		if (!waitv && backend_ == Backend::WaitV)
			throw std::runtime_error("futex_waitv: not available (Linux before 5.16)");
		if (!waitv)
			std::cerr << "ipchubd: futex_waitv is not available (it needs Linux 5.16): "
				     "bus-path waits on fast objects look at their words every "
				  << kPollInterval.count() << " ms instead of sleeping\n";
		backend_ = waitv ? Backend::WaitV : Backend::Poll;
	}
	event_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!event_)
		throw std::system_error(errno, std::generic_category(), "eventfd");
	sd_event_source *source = nullptr;
	const int r =
		sd_event_add_io(loop, &source, event_.get(), EPOLLIN, &FutexWaiter::onEvent, this);
	if (r < 0)
		throw std::system_error(-r, std::generic_category(), "sd_event_add_io");
	source_.reset(source);
}

FutexWaiter::~FutexWaiter()
{
	{
		std::lock_guard lock(mutex_);
		stopping_ = true;
		for (auto &thread : threads_)
			interrupt(*thread);
	}
	for (auto &thread : threads_)
		thread->thread.join();
}

size_t FutexWaiter::threads() const
{
	std::lock_guard lock(mutex_);
	return threads_.size();
}

FutexWaiter::Id FutexWaiter::watch(std::atomic<uint32_t> &word, uint32_t expected,
				   std::function<void()> woken)
{
	return unwrap(tryWatch(word, expected, std::move(woken)));
}

Result<FutexWaiter::Id> FutexWaiter::tryWatch(std::atomic<uint32_t> &word, uint32_t expected,
					      std::function<void()> woken)
{
	const Key key{&word, expected};
	const Id id = nextId_;
	std::lock_guard lock(mutex_);
	if (auto found = where_.find(key); found != where_.end()) {
		// The thread waits on this pair already.
		auto &slots = found->second->slots;
		auto slot = std::find_if(slots.begin(), slots.end(),
					 [&key](const Slot &s) { return s.key == key; });
		slot->ids.push_back(id);
	} else {
		auto free = std::find_if(threads_.begin(), threads_.end(), [](const auto &t) {
			return t->slots.size() < kWordsPerThread;
		});
		Thread *thread = free == threads_.end() ? nullptr : free->get();
		if (!thread) {
			if (threads_.size() == kMaxThreads)
				return fail(ErrorCode::LimitExceeded,
					    "ipchubd waits on " + std::to_string(kMaxWords) +
						    " words of fast objects for bus-path callers; "
						    "fast_waits_total is " +
						    std::to_string(kMaxWords));
			auto added = std::make_unique<Thread>();
			thread = added.get();
			try {
				added->thread = std::thread([this, thread] { run(*thread); });
			} catch (const std::system_error &e) {
				return fail(ErrorCode::Failed,
					    std::string("cannot start a futex thread: ") +
						    e.what());
			}
			threads_.push_back(std::move(added));
		}
		thread->slots.push_back(Slot{key, {id}});
		where_.emplace(key, thread);
		interrupt(*thread);
	}
	watches_.emplace(id, Watch{key, std::move(woken)});
	nextId_++;
	return id;
}

void FutexWaiter::cancel(Id id)
{
	auto watch = watches_.find(id);
	if (watch == watches_.end())
		return;
	const Key key = watch->second.key;
	watches_.erase(watch);
	std::lock_guard lock(mutex_);
	// Not there: it fired and waits in ready_, where dispatch() no longer finds it.
	auto found = where_.find(key);
	if (found == where_.end())
		return;
	Thread &thread = *found->second;
	auto slot = std::find_if(thread.slots.begin(), thread.slots.end(),
				 [&key](const Slot &s) { return s.key == key; });
	std::erase(slot->ids, id);
	if (!slot->ids.empty())
		return;
	// The word may be unmapped once this returns: the thread must not look at it again.
	if (&*slot != &thread.slots.back())
		*slot = std::move(thread.slots.back());
	thread.slots.pop_back();
	where_.erase(found);
	interrupt(thread);
}

void FutexWaiter::interrupt(Thread &thread)
{
	thread.interrupt.fetch_add(1, std::memory_order_release);
	syscall(SYS_futex, &thread.interrupt, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

bool FutexWaiter::fire(Thread &thread, size_t slot)
{
	Slot &fired = thread.slots[slot];
	ready_.insert(ready_.end(), fired.ids.begin(), fired.ids.end());
	where_.erase(fired.key);
	if (&fired != &thread.slots.back())
		fired = std::move(thread.slots.back());
	thread.slots.pop_back();
	return true;
}

void FutexWaiter::run(Thread &thread)
{
	std::vector<futex_waitv> waiters;
	std::vector<Key> keys;
	bool reported = false;
	std::unique_lock lock(mutex_);
	while (!stopping_) {
		// The words as they are now; a change of the set changes interrupt first, so
		// the call below returns at once when it comes after this look.
		const uint32_t seen = thread.interrupt.load(std::memory_order_acquire);
		waiters.clear();
		keys.clear();
		waiters.push_back(waiter(&thread.interrupt, seen, FUTEX_32 | FUTEX_PRIVATE_FLAG));
		for (const Slot &slot : thread.slots) {
			keys.push_back(slot.key);
			waiters.push_back(waiter(slot.key.first, slot.key.second, FUTEX_32));
		}
		lock.unlock();
		long rc = 0;
		if (backend_ == Backend::WaitV) {
			rc = syscall(SYS_futex_waitv, waiters.data(), waiters.size(), 0, nullptr,
				     CLOCK_MONOTONIC);
		} else {
			timespec poll{0, static_cast<long>(
						 std::chrono::nanoseconds(kPollInterval).count())};
			rc = syscall(SYS_futex, &thread.interrupt, FUTEX_WAIT_PRIVATE, seen,
				     keys.empty() ? nullptr : &poll, nullptr, 0);
		}
		const int err = rc < 0 ? errno : 0;
		lock.lock();
		if (stopping_)
			break;

		bool fired = false;
		// Woken: that word's watches, if they are still there.
		if (backend_ == Backend::WaitV && rc > 0) {
			const Key &woken = keys[static_cast<size_t>(rc) - 1];
			for (size_t i = 0; i < thread.slots.size(); i++)
				if (thread.slots[i].key == woken) {
					fired = fire(thread, i);
					break;
				}
		}
		// Changed, woken or not. Only the words of the current set: a cancelled one
		// may be unmapped.
		for (size_t i = 0; i < thread.slots.size();) {
			const Slot &slot = thread.slots[i];
			if (slot.key.first->load(std::memory_order_acquire) != slot.key.second)
				fired = fire(thread, i);
			else
				i++;
		}
		bool everyone = false;
		if (backend_ == Backend::WaitV && rc < 0 && err == EAGAIN && !fired &&
		    thread.interrupt.load(std::memory_order_acquire) == seen) {
			// A word differed when the kernel looked and has its expected value
			// again: it changed in between, so its watches are due. Which one is
			// unknown: all are called (spurious calls are allowed).
			everyone = true;
		} else if (rc < 0 && err != EAGAIN && err != EINTR && err != ETIMEDOUT) {
			// Nothing here should fail; calling every watch keeps waits from
			// stalling and the thread from spinning on the same error.
			if (!reported)
				std::cerr << "ipchubd: waiting on fast objects' words: "
					  << std::strerror(err) << "\n";
			reported = true;
			everyone = true;
		}
		while (everyone && !thread.slots.empty())
			fired = fire(thread, thread.slots.size() - 1);
		if (fired) {
			const uint64_t one = 1;
			// Cannot fail: the loop reads the count before it could overflow.
			[[maybe_unused]] auto written = write(event_.get(), &one, sizeof one);
		}
	}
}

int FutexWaiter::onEvent(sd_event_source *, int, uint32_t, void *userdata)
{
	static_cast<FutexWaiter *>(userdata)->dispatch();
	return 0;
}

void FutexWaiter::dispatch()
{
	uint64_t count = 0;
	[[maybe_unused]] auto read = ::read(event_.get(), &count, sizeof count);
	std::vector<Id> ready;
	{
		std::lock_guard lock(mutex_);
		ready.swap(ready_);
	}
	for (const Id id : ready) {
		// Cancelled since it fired, or by an earlier callback of this round.
		auto watch = watches_.find(id);
		if (watch == watches_.end())
			continue;
		auto woken = std::move(watch->second.woken);
		watches_.erase(watch);
		try {
			woken();
		} catch (const std::exception &e) {
			// Not through sd-event, which would turn this source off.
			std::cerr << "ipchubd: a wait on a fast object failed: " << e.what()
				  << "\n";
		}
	}
}

} // namespace ipchub::bus
