// SPDX-License-Identifier: LGPL-2.1-or-later
// Acquire through the real ipchubd: try once, timeouts, waits without limit served by
// another connection, huge timeouts, FIFO order with mixed sizes, TryAcquire.

#include <algorithm>
#include <thread>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SemaphoreWaitTest = IpchubTest;
using Clock = std::chrono::steady_clock;

// The exit status of a child whose acquire failed with code.
int statusFor(ErrorCode code)
{
	return 10 + static_cast<int>(code);
}

bool allDone(const std::vector<std::shared_ptr<RawConnection::Reply>> &replies)
{
	return std::all_of(replies.begin(), replies.end(),
			   [](const auto &reply) { return reply->done; });
}

TEST_F(SemaphoreWaitTest, TimeoutZeroTriesOnce)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore);
	auto tooMany = semaphore->acquire(2, 0us);
	ASSERT_FALSE(tooMany);
	EXPECT_EQ(tooMany.error().code, ErrorCode::WouldBlock) << tooMany.error().message;
	EXPECT_EQ(semaphore->waiters().value(), 0u);
	EXPECT_EQ(semaphore->value().value(), 1u);
	ASSERT_TRUE(semaphore->acquire(1, 0us));
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreWaitTest, FiniteTimeoutFailsWithTimeoutAfterThatTime)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	const auto start = Clock::now();
	auto acquired = semaphore->acquire(1, 200ms);
	const auto elapsed = Clock::now() - start;
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Timeout) << acquired.error().message;
	EXPECT_GE(elapsed, 200ms);
	EXPECT_LT(elapsed, 5s);
	EXPECT_EQ(semaphore->waiters().value(), 0u);

	// The same through a raw call: the service's own timer answers.
	RawConnection raw(address());
	auto reply = raw.acquireAsync(semaphore->path(), 1, 150'000);
	ASSERT_TRUE(raw.waitFor([&] { return reply->done; }));
	EXPECT_EQ(reply->error, errorName("Timeout")) << reply->message;
	EXPECT_GE(reply->repliedAt - reply->sentAt, 150ms);
	EXPECT_LT(reply->repliedAt - reply->sentAt, 5s);
}

TEST_F(SemaphoreWaitTest, ShortTimeoutsEndRoughlyOnTime)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	// Five 20 ms waits one after the other: each ends with Timeout, none early, and
	// typically well within 100 ms (sd-event's default timer slack is 250 ms).
	std::vector<Clock::duration> elapsed;
	for (int i = 0; i < 5; ++i) {
		auto reply = raw.acquireAsync(semaphore->path(), 1, 20'000);
		ASSERT_TRUE(raw.waitFor([&] { return reply->done; }));
		EXPECT_EQ(reply->error, errorName("Timeout"));
		elapsed.push_back(reply->repliedAt - reply->sentAt);
		EXPECT_GE(elapsed.back(), 20ms);
	}
	std::sort(elapsed.begin(), elapsed.end());
	EXPECT_LT(elapsed[2], 100ms)
		<< "median of five 20 ms timeouts: "
		<< std::chrono::duration_cast<std::chrono::milliseconds>(elapsed[2]).count()
		<< " ms";
}

TEST_F(SemaphoreWaitTest, TimeoutDoesNotFireEarlyAndAGrantInTimeWins)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	auto reply = raw.acquireAsync(semaphore->path(), 1, 2'000'000);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	std::this_thread::sleep_for(100ms);
	raw.pump();
	EXPECT_FALSE(reply->done) << reply->error;
	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(raw.waitFor([&] { return reply->done; }));
	EXPECT_EQ(reply->error, "") << reply->message;
	// The timer went with the grant: the unit stays taken past the timeout's end.
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreWaitTest, WaitWithoutLimitIsServedByAReleaseFromAnotherConnection)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	int named[2];
	ASSERT_EQ(pipe(named), 0);
	Child waiter = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("jobs");
		if (!sem)
			return 1;
		auto acquired = sem->acquire(2, kForever);
		if (!acquired)
			return statusFor(acquired.error().code);
		const std::string name = child->uniqueName() + "\n";
		(void)!write(named[1], name.data(), name.size());
		pause();
		return 0;
	});
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(semaphore->waiters().value(), 1u) << "served with one unit of two";
	ASSERT_TRUE(semaphore->release(1));
	std::string name;
	for (char c; read(named[0], &c, 1) == 1 && c != '\n';)
		name.push_back(c);
	ASSERT_FALSE(name.empty()) << "the waiter was not served";
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].uniqueName, name);
	EXPECT_EQ(holders[0].units, 2u);
	EXPECT_EQ(semaphore->waiters().value(), 0u);
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreWaitTest, RawWaitWithoutLimitIsServedByARelease)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	auto reply = raw.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(raw.waitFor([&] { return reply->done; }));
	EXPECT_EQ(reply->error, "") << reply->message;
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].uniqueName, raw.uniqueName());
}

TEST_F(SemaphoreWaitTest, HugeFiniteTimeoutsDoNotOverflow)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	const std::vector<uint64_t> timeouts{UINT64_MAX - 1, UINT64_MAX - 1'000'000,
					     uint64_t{1} << 63, (uint64_t{1} << 63) - 1,
					     uint64_t{1} << 62};
	std::vector<std::shared_ptr<RawConnection::Reply>> replies;
	for (uint64_t timeout : timeouts)
		replies.push_back(raw.acquireAsync(semaphore->path(), 1, timeout));
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == timeouts.size(); }));
	// A wrapped deadline would have fired at once.
	std::this_thread::sleep_for(100ms);
	raw.pump();
	for (size_t i = 0; i < replies.size(); ++i)
		EXPECT_FALSE(replies[i]->done) << timeouts[i] << ": " << replies[i]->error;
	EXPECT_EQ(raw.waiters(semaphore->path()), timeouts.size());

	ASSERT_TRUE(semaphore->release(static_cast<uint32_t>(timeouts.size())));
	ASSERT_TRUE(raw.waitFor([&] { return allDone(replies); }));
	for (size_t i = 0; i < replies.size(); ++i)
		EXPECT_EQ(replies[i]->error, "") << timeouts[i] << ": " << replies[i]->message;
}

TEST_F(SemaphoreWaitTest, LibraryHugeTimeoutWaitsThenIsServed)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	Child waiter = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("jobs");
		if (!sem)
			return 1;
		auto acquired = sem->acquire(1, std::chrono::microseconds(INT64_MAX - 1));
		return acquired ? 0 : statusFor(acquired.error().code);
	});
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	std::this_thread::sleep_for(100ms);
	EXPECT_EQ(waiter.wait(0ms), -1) << "the wait ended before any release";
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(waiter.wait(), 0);
}

TEST_F(SemaphoreWaitTest, FifoWithMixedSizesHoldsSmallerWaitsBehindABigHead)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	const std::string path = semaphore->path();
	// Three waiters on connections of their own, queued in this order.
	RawConnection big(address()), small(address()), medium(address());
	auto bigWait = big.acquireAsync(path, 3, UINT64_MAX);
	ASSERT_TRUE(big.waitFor([&] { return big.waiters(path) == 1; }));
	auto smallWait = small.acquireAsync(path, 1, UINT64_MAX);
	ASSERT_TRUE(small.waitFor([&] { return small.waiters(path) == 2; }));
	auto mediumWait = medium.acquireAsync(path, 2, UINT64_MAX);
	ASSERT_TRUE(medium.waitFor([&] { return medium.waiters(path) == 3; }));

	std::vector<std::string> grants;
	auto record = [&] {
		for (auto [connection, reply, name] :
		     {std::tuple{&big, bigWait.get(), "big"},
		      std::tuple{&small, smallWait.get(), "small"},
		      std::tuple{&medium, mediumWait.get(), "medium"}}) {
			connection->pump();
			if (reply->done &&
			    std::find(grants.begin(), grants.end(), name) == grants.end())
				grants.push_back(name);
		}
	};
	// One free unit is enough for "small", but "big" is first.
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(semaphore->value().value(), 1u);
	EXPECT_EQ(semaphore->waiters().value(), 3u);
	auto jump = semaphore->tryAcquire(1);
	ASSERT_TRUE(jump);
	EXPECT_FALSE(*jump) << "TryAcquire went ahead of the queue";
	record();
	EXPECT_TRUE(grants.empty());

	ASSERT_TRUE(semaphore->release(2));
	ASSERT_TRUE(waitFor([&] {
		record();
		return grants.size() == 1;
	}));
	EXPECT_EQ(grants, std::vector<std::string>{"big"});
	EXPECT_EQ(semaphore->value().value(), 0u);

	// Three units at once serve both that are left, in order.
	ASSERT_TRUE(semaphore->release(3));
	ASSERT_TRUE(waitFor([&] {
		record();
		return grants.size() == 3;
	}));
	EXPECT_EQ(grants, (std::vector<std::string>{"big", "small", "medium"}));
	for (auto *reply : {bigWait.get(), smallWait.get(), mediumWait.get()})
		EXPECT_EQ(reply->error, "") << reply->message;

	auto holders = semaphore->holders().value();
	std::map<std::string, uint32_t> held;
	for (const auto &holder : holders)
		held[holder.uniqueName] = holder.units;
	EXPECT_EQ(held, (std::map<std::string, uint32_t>{{big.uniqueName(), 3},
							 {small.uniqueName(), 1},
							 {medium.uniqueName(), 2}}));
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreWaitTest, GrantsFollowArrivalOrderAcrossProcesses)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	int order[2];
	ASSERT_EQ(pipe(order), 0);
	std::vector<Child> children;
	// Sizes 1, 2, 2, 1: each child writes its tag while holding its units, then
	// passes them on, so the pipe shows the order of the grants.
	const std::vector<std::pair<char, uint32_t>> waiters{{'a', 1}, {'b', 2}, {'c', 2}, {'d', 1}};
	for (auto [tag, units] : waiters) {
		children.push_back(forkChild([&, tag, units] {
			auto child = Client::connect(address());
			auto sem = child->openSemaphore("jobs");
			if (!sem || !sem->acquire(units, kForever))
				return 1;
			(void)!write(order[1], &tag, 1);
			return sem->release(units) ? 0 : 2;
		}));
		const uint32_t queued = static_cast<uint32_t>(children.size());
		ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == queued; }));
	}
	// Two units: "a" takes one; the one left would do for "d", but "b" and "c" are
	// first.
	ASSERT_TRUE(semaphore->release(2));
	for (auto &child : children)
		EXPECT_EQ(child.wait(), 0);
	close(order[1]);
	std::string grants;
	for (char c; read(order[0], &c, 1) == 1;)
		grants.push_back(c);
	EXPECT_EQ(grants, "abcd");
	EXPECT_EQ(semaphore->value().value(), 2u);
}

TEST_F(SemaphoreWaitTest, HeadTimingOutLetsSmallerWaitersThrough)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	auto head = raw.acquireAsync(semaphore->path(), 2, 200'000);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	auto behind = raw.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 2; }));
	ASSERT_TRUE(raw.waitFor([&] { return head->done && behind->done; }));
	EXPECT_EQ(head->error, errorName("Timeout"));
	EXPECT_EQ(behind->error, "") << behind->message;
	// Held back until the head's time ran out.
	EXPECT_GE(behind->repliedAt - head->sentAt, 200ms);
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreWaitTest, OneReleaseServesSeveralWaiters)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection raw(address());
	std::vector<std::shared_ptr<RawConnection::Reply>> replies;
	for (int i = 0; i < 3; ++i)
		replies.push_back(raw.acquireAsync(semaphore->path(), 1, 5'000'000));
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 3; }));
	ASSERT_TRUE(semaphore->release(3));
	ASSERT_TRUE(raw.waitFor([&] { return allDone(replies); }));
	for (const auto &reply : replies)
		EXPECT_EQ(reply->error, "") << reply->message;
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].units, 3u);
}

TEST_F(SemaphoreWaitTest, TryAcquireTakesWhatIsFreeAndRespectsTheQueue)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	auto taken = semaphore->tryAcquire(1);
	ASSERT_TRUE(taken);
	EXPECT_TRUE(*taken);
	EXPECT_EQ(semaphore->value().value(), 1u);
	auto tooMany = semaphore->tryAcquire(2);
	ASSERT_TRUE(tooMany);
	EXPECT_FALSE(*tooMany);
	EXPECT_EQ(semaphore->value().value(), 1u);

	RawConnection raw(address());
	auto waiting = raw.acquireAsync(semaphore->path(), 2, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	// A free unit, but somebody waits first: neither TryAcquire nor a try-once Acquire.
	auto jump = opened->tryAcquire(1);
	ASSERT_TRUE(jump);
	EXPECT_FALSE(*jump);
	auto tryOnce = opened->acquire(1, 0us);
	ASSERT_FALSE(tryOnce);
	EXPECT_EQ(tryOnce.error().code, ErrorCode::WouldBlock);
	EXPECT_EQ(semaphore->value().value(), 1u);

	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(raw.waitFor([&] { return waiting->done; }));
	EXPECT_EQ(waiting->error, "");
}

} // namespace
} // namespace ipchub::test
