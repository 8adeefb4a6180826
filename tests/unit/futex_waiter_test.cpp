// SPDX-License-Identifier: LGPL-2.1-or-later
// The service's waits on fast pages' words: helper threads in futex_waitv (or polling
// where the kernel lacks it), callbacks on the sd-event loop thread. No bus: a loop of
// its own and pages made as ipchubd makes them, written by forked children.

#include <atomic>
#include <chrono>
#include <climits>
#include <ctime>
#include <dirent.h>
#include <linux/futex.h>
#include <memory>
#include <poll.h>
#include <set>
#include <string>
#include <sys/syscall.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sdbus-c++/Error.h>
#include <systemd/sd-event.h>

#include "bus/futex_waiter.hpp"
#include "fast_test_support.hpp"

namespace {

using ipchub::bus::FutexWaiter;
using ipchub::fast::test::forkChild;
using ipchub::fast::test::reap;
using ipchub::fast::test::ServicePage;
using namespace std::chrono_literals;

constexpr size_t kPageSize = 4096;
constexpr size_t kPageWords = kPageSize / sizeof(uint32_t);

struct EventUnref {
	void operator()(sd_event *event) const { sd_event_unref(event); }
};

std::atomic<uint32_t> &wordAt(const ipchub::fast::Mapping &mapping, size_t index)
{
	return static_cast<std::atomic<uint32_t> *>(mapping.address())[index];
}

long futexWake(std::atomic<uint32_t> &word, int count)
{
	return syscall(SYS_futex, &word, FUTEX_WAKE, count, nullptr, nullptr, 0);
}

std::chrono::nanoseconds cpuTime()
{
	timespec ts{};
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The threads of this process that sleep in futex_waitv now.
size_t threadsInFutexWaitv()
{
	size_t found = 0;
	DIR *tasks = opendir("/proc/self/task");
	if (!tasks)
		return 0;
	while (const dirent *task = readdir(tasks)) {
		if (task->d_name[0] == '.')
			continue;
		const std::string path =
			std::string("/proc/self/task/") + task->d_name + "/syscall";
		FILE *f = std::fopen(path.c_str(), "r");
		if (!f)
			continue;
		long nr = -1;
		if (std::fscanf(f, "%ld", &nr) == 1 && nr == SYS_futex_waitv)
			found++;
		std::fclose(f);
	}
	closedir(tasks);
	return found;
}

class FutexWaiterTest : public testing::TestWithParam<FutexWaiter::Backend>
{
protected:
	void SetUp() override
	{
		sd_event *event = nullptr;
		ASSERT_GE(sd_event_new(&event), 0);
		loop_.reset(event);
		if (GetParam() == FutexWaiter::Backend::WaitV &&
		    syscall(SYS_futex_waitv, nullptr, 0, 0, nullptr, 0) < 0 && errno == ENOSYS)
			GTEST_SKIP() << "futex_waitv needs Linux 5.16";
		waiter_ = std::make_unique<FutexWaiter>(loop_.get(), GetParam());
		ASSERT_EQ(waiter_->backend(), GetParam());
	}

	void TearDown() override
	{
		waiter_.reset();
		loop_.reset();
	}

	// Runs the loop until cond holds or timeout passes; whether cond holds.
	bool runUntil(const std::function<bool()> &cond, std::chrono::milliseconds timeout = 5s)
	{
		const auto end = std::chrono::steady_clock::now() + timeout;
		while (!cond()) {
			const auto left = end - std::chrono::steady_clock::now();
			if (left <= 0s)
				return false;
			const auto usec =
				std::chrono::duration_cast<std::chrono::microseconds>(left);
			if (sd_event_run(loop_.get(), static_cast<uint64_t>(usec.count())) < 0)
				return false;
		}
		return true;
	}

	// Runs the loop for the whole of duration.
	void runFor(std::chrono::milliseconds duration)
	{
		runUntil([] { return false; }, duration);
	}

	// The words stay mapped until the waiter has ended (TearDown), as FutexWaiter
	// requires of watches left armed.
	ServicePage page_{kPageSize};
	std::unique_ptr<sd_event, EventUnref> loop_;
	std::unique_ptr<FutexWaiter> waiter_;
	const std::thread::id loopThread_ = std::this_thread::get_id();
};

// Another process's FUTEX_WAKE on a word of a memfd page, with the word unchanged, calls
// the watch on the loop thread. The child wakes until a sleeper was there to wake, so
// it knows the waiter slept on the word as a shared futex.
TEST_P(FutexWaiterTest, WakeFromAnotherProcessCallsOnTheLoopThread)
{
	if (GetParam() == FutexWaiter::Backend::Poll)
		GTEST_SKIP() << "polling sees changes only, not a wake that changes nothing";
	auto &page = page_;
	auto &word = wordAt(page.mapping, 7);
	word.store(42);
	int calls = 0;
	std::thread::id calledOn;
	waiter_->watch(word, 42, [&] {
		calls++;
		calledOn = std::this_thread::get_id();
	});
	EXPECT_EQ(waiter_->size(), 1u);

	const pid_t child = forkChild([&page] {
		auto mapping = page.mapAsClient();
		auto &own = wordAt(mapping, 7);
		const auto end = std::chrono::steady_clock::now() + 5s;
		while (std::chrono::steady_clock::now() < end) {
			if (futexWake(own, 1) == 1)
				return 0;
			std::this_thread::sleep_for(100us);
		}
		return 1;
	});
	EXPECT_TRUE(runUntil([&] { return calls > 0; }));
	EXPECT_EQ(reap(child), 0) << "the child's FUTEX_WAKE found no sleeper on the word";
	EXPECT_EQ(calls, 1);
	EXPECT_EQ(calledOn, loopThread_);
	EXPECT_EQ(word.load(), 42u);
	EXPECT_EQ(waiter_->size(), 0u) << "a called watch is spent";
	// Spent: a second wake calls nothing.
	futexWake(word, INT_MAX);
	runFor(50ms);
	EXPECT_EQ(calls, 1);
}

// A word that no longer holds the expected value is seen without any wake: when the
// watch is added, and when another process changes it while the thread sleeps on
// other words. A word that keeps its value is not called.
TEST_P(FutexWaiterTest, ValueChangeWithoutWakeIsSeen)
{
	auto &page = page_;
	auto &still = wordAt(page.mapping, 0);
	auto &stale = wordAt(page.mapping, 1);
	auto &changed = wordAt(page.mapping, 2);
	stale.store(6);
	int stillCalls = 0, staleCalls = 0, changedCalls = 0;
	waiter_->watch(still, 0, [&] { stillCalls++; });
	runFor(20ms);
	waiter_->watch(stale, 5, [&] { staleCalls++; });
	EXPECT_TRUE(runUntil([&] { return staleCalls > 0; }));

	waiter_->watch(changed, 0, [&] { changedCalls++; });
	runFor(20ms);
	EXPECT_EQ(changedCalls, 0);
	// Changed by another process with no FUTEX_WAKE; the next change of the set (a
	// watch added elsewhere) makes the thread look again.
	const pid_t child = forkChild([&page] {
		auto mapping = page.mapAsClient();
		wordAt(mapping, 2).store(1);
		return 0;
	});
	EXPECT_EQ(reap(child), 0);
	auto &other = wordAt(page.mapping, 3);
	const auto id = waiter_->watch(other, 0, [] {});
	EXPECT_TRUE(runUntil([&] { return changedCalls > 0; }));
	waiter_->cancel(id);

	runFor(50ms);
	EXPECT_EQ(stillCalls, 0) << "a word that kept its value and was not woken was called";
	EXPECT_EQ(staleCalls, 1);
	EXPECT_EQ(changedCalls, 1);
	EXPECT_EQ(waiter_->size(), 1u);
}

// cancel() before the wake: no call, while another watch of the same word is called.
TEST_P(FutexWaiterTest, CancelBeforeTheWakeMeansNoCall)
{
	auto &page = page_;
	auto &word = wordAt(page.mapping, 0);
	int cancelledCalls = 0, keptCalls = 0;
	const auto cancelled = waiter_->watch(word, 0, [&] { cancelledCalls++; });
	waiter_->watch(word, 0, [&] { keptCalls++; });
	runFor(20ms);
	waiter_->cancel(cancelled);
	EXPECT_EQ(waiter_->size(), 1u);
	const pid_t child = forkChild([&page] {
		auto mapping = page.mapAsClient();
		wordAt(mapping, 0).store(1);
		futexWake(wordAt(mapping, 0), INT_MAX);
		return 0;
	});
	EXPECT_EQ(reap(child), 0);
	EXPECT_TRUE(runUntil([&] { return keptCalls > 0; }));
	runFor(50ms);
	EXPECT_EQ(cancelledCalls, 0);
	EXPECT_EQ(keptCalls, 1);
}

// cancel() after the thread saw the change but before the loop called: still no call.
TEST_P(FutexWaiterTest, CancelAfterTheWakeBeforeTheLoopRanMeansNoCall)
{
	auto &page = page_;
	auto &word = wordAt(page.mapping, 0);
	int cancelledCalls = 0, keptCalls = 0;
	const auto cancelled = waiter_->watch(word, 0, [&] { cancelledCalls++; });
	waiter_->watch(word, 0, [&] { keptCalls++; });
	word.store(1);
	futexWake(word, INT_MAX);
	// The loop's descriptor turns readable once the thread told the eventfd.
	pollfd ready{sd_event_get_fd(loop_.get()), POLLIN, 0};
	ASSERT_EQ(poll(&ready, 1, 5000), 1) << "the thread did not tell the loop";
	waiter_->cancel(cancelled);
	EXPECT_TRUE(runUntil([&] { return keptCalls > 0; }));
	runFor(50ms);
	EXPECT_EQ(cancelledCalls, 0);
	EXPECT_EQ(keptCalls, 1);
}

// More words than one futex_waitv takes: threads up to the bound, then LimitExceeded
// naming fast_waits_total; watches of a pair already watched still fit. A change on a
// word of the last thread calls that watch and no other.
TEST_P(FutexWaiterTest, MoreWatchesThanOneCallTakes)
{
	auto &page = page_;
	ASSERT_GE(kPageWords, FutexWaiter::kMaxWords + 1);
	std::vector<int> calls(kPageWords, 0);
	std::vector<FutexWaiter::Id> ids;
	for (size_t i = 0; i < FutexWaiter::kMaxWords; i++)
		ids.push_back(
			waiter_->watch(wordAt(page.mapping, i), 0, [&calls, i] { calls[i]++; }));
	EXPECT_EQ(waiter_->size(), FutexWaiter::kMaxWords);
	EXPECT_EQ(waiter_->threads(), FutexWaiter::kMaxThreads);

	auto refused = waiter_->tryWatch(wordAt(page.mapping, FutexWaiter::kMaxWords), 0, [] {});
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ipchub::ErrorCode::LimitExceeded);
	EXPECT_NE(refused.error().message.find("fast_waits_total"), std::string::npos)
		<< refused.error().message;
	EXPECT_THROW(waiter_->watch(wordAt(page.mapping, FutexWaiter::kMaxWords), 0, [] {}),
		     sdbus::Error);
	int sharedCalls = 0;
	waiter_->watch(wordAt(page.mapping, 3), 0, [&] { sharedCalls++; });

	if (GetParam() == FutexWaiter::Backend::WaitV) {
		EXPECT_TRUE(ipchub::fast::test::waitFor([] {
			return threadsInFutexWaitv() == FutexWaiter::kMaxThreads;
		})) << "every thread sleeps in futex_waitv";
	}

	const size_t last = FutexWaiter::kMaxWords - 1;
	const pid_t child = forkChild([&page, last] {
		auto mapping = page.mapAsClient();
		for (size_t i : {size_t{3}, last}) {
			wordAt(mapping, i).store(1);
			futexWake(wordAt(mapping, i), 1);
		}
		return 0;
	});
	EXPECT_EQ(reap(child), 0);
	EXPECT_TRUE(runUntil([&] { return calls[3] && calls[last] && sharedCalls; }));
	runFor(50ms);
	for (size_t i = 0; i < FutexWaiter::kMaxWords; i++)
		EXPECT_EQ(calls[i], i == 3 || i == last ? 1 : 0) << "word " << i;
	EXPECT_EQ(sharedCalls, 1);
	EXPECT_EQ(waiter_->size(), FutexWaiter::kMaxWords - 2);

	// Room again: a new pair is taken.
	EXPECT_TRUE(waiter_->tryWatch(wordAt(page.mapping, FutexWaiter::kMaxWords), 0, [] {}));
	for (const auto id : ids)
		waiter_->cancel(id);
	EXPECT_EQ(waiter_->size(), 1u);
}

// Destroying the waiter with watches armed on several threads joins them at once and
// calls nothing, not even a watch whose word changed just before.
TEST_P(FutexWaiterTest, DestructionWithWatchesArmed)
{
	auto &page = page_;
	int calls = 0;
	for (size_t i = 0; i < 300; i++)
		waiter_->watch(wordAt(page.mapping, i), 0, [&] { calls++; });
	EXPECT_EQ(waiter_->threads(), 3u);
	runFor(20ms);
	wordAt(page.mapping, 5).store(1);
	futexWake(wordAt(page.mapping, 5), 1);
	const auto start = std::chrono::steady_clock::now();
	waiter_.reset();
	EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
	runFor(50ms);
	EXPECT_EQ(calls, 0);
	// The threads are gone: changes after the end touch nothing of the waiter.
	for (size_t i = 0; i < 300; i++) {
		wordAt(page.mapping, i).store(2);
		futexWake(wordAt(page.mapping, i), INT_MAX);
	}
	runFor(20ms);
	EXPECT_EQ(calls, 0);
}

// With watches armed the threads sleep: the process's CPU time over a second of loop
// stays near zero.
TEST_P(FutexWaiterTest, ThreadsSleepWithWatchesArmed)
{
	if (GetParam() == FutexWaiter::Backend::Poll)
		GTEST_SKIP() << "the fallback polls by design";
	auto &page = page_;
	int calls = 0;
	for (size_t i = 0; i < 300; i++)
		waiter_->watch(wordAt(page.mapping, i), 0, [&] { calls++; });
	EXPECT_TRUE(ipchub::fast::test::waitFor([] { return threadsInFutexWaitv() == 3; }));
	const auto before = cpuTime();
	runFor(1000ms);
	const auto used = cpuTime() - before;
	EXPECT_LT(used, 50ms)
		<< "used " << std::chrono::duration_cast<std::chrono::microseconds>(used).count()
		<< " us of CPU in 1 s";
	EXPECT_EQ(calls, 0);
	EXPECT_EQ(threadsInFutexWaitv(), 3u);
}

// A watch added and cancelled while the thread sleeps leaves the thread to sleep on the
// rest; one callback's cancel of another, due in the same round, holds.
TEST_P(FutexWaiterTest, CancelFromACallback)
{
	auto &page = page_;
	auto &word = wordAt(page.mapping, 0);
	int firstCalls = 0, secondCalls = 0;
	FutexWaiter::Id first = 0, second = 0;
	first = waiter_->watch(word, 0, [&] {
		firstCalls++;
		waiter_->cancel(second);
	});
	second = waiter_->watch(word, 0, [&] {
		secondCalls++;
		waiter_->cancel(first);
	});
	word.store(1);
	futexWake(word, 1);
	EXPECT_TRUE(runUntil([&] { return firstCalls + secondCalls > 0; }));
	runFor(50ms);
	EXPECT_EQ(firstCalls + secondCalls, 1);
	EXPECT_EQ(waiter_->size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, FutexWaiterTest,
			 testing::Values(FutexWaiter::Backend::WaitV, FutexWaiter::Backend::Poll),
			 [](const auto &info) {
				 return info.param == FutexWaiter::Backend::WaitV ? "WaitV"
										  : "Poll";
			 });

} // namespace
