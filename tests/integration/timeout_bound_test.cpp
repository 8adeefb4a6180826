// SPDX-License-Identifier: LGPL-2.1-or-later
// A timeout bounds the library's call whatever ipchubd does: stopped (SIGSTOP) with a
// wait in flight, stopped before a call that takes no timeout of its own, or absent
// from the bus. Nothing a call left behind stays held once ipchubd runs again.

#include <poll.h>

#include <csignal>
#include <optional>
#include <thread>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using Clock = std::chrono::steady_clock;

class TimeoutBoundTest : public IpchubTest
{
protected:
	void TearDown() override
	{
		// A failed assertion may leave ipchubd stopped: let it stop cleanly.
		if (daemonPid() > 0)
			::kill(daemonPid(), SIGCONT);
		IpchubTest::TearDown();
	}

	void freeze() { ASSERT_EQ(::kill(daemonPid(), SIGSTOP), 0); }
	void thaw() { ASSERT_EQ(::kill(daemonPid(), SIGCONT), 0); }
};

TEST_F(TimeoutBoundTest, AcquireAgainstAStoppedIpchubdTimesOutWithinItsBound)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	freeze();
	const auto start = Clock::now();
	auto acquired = semaphore->acquire(1, 500ms);
	const auto elapsed = Clock::now() - start;
	thaw();
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Timeout) << acquired.error().message;
	EXPECT_GE(elapsed, 500ms);
	EXPECT_LT(elapsed, 700ms);
	// The wait left behind is cancelled once ipchubd reads it: no waiter, no unit.
	EXPECT_TRUE(waitFor([&] { return semaphore->waiters().value_or(1) == 0; }));
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(semaphore->value().value_or(0), 1u);
}

TEST_F(TimeoutBoundTest, AGrantThatComesAfterTheCallerGaveUpIsGivenBack)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	freeze();
	auto acquired = semaphore->acquire(1, 300ms);
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Timeout) << acquired.error().message;
	// Sent after the Wait above: ipchubd, thawed, queues the wait, then grants it
	// before it reads the cancel that followed.
	Child poster =
		spawn({"gdbus", "call", "--session", "--dest", "io.github.ipchub1", "--object-path",
		       semaphore->path(), "--method", "io.github.ipchub1.Semaphore.Release", "1"});
	std::this_thread::sleep_for(100ms);
	thaw();
	EXPECT_EQ(poster.wait(), 0);
	// The client reads the late grant with its next calls and gives it back.
	EXPECT_TRUE(waitFor([&] {
		auto holders = semaphore->holders();
		return holders && holders->empty() && semaphore->value().value_or(0) == 1;
	})) << "the unit granted after the timeout came back";
}

TEST_F(TimeoutBoundTest, LockAndSharedMemoryWaitsAreBoundedToo)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	auto sharedMemory = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(sharedMemory);
	freeze();
	auto start = Clock::now();
	auto guard = lock->acquire(LockMode::Exclusive, 300ms);
	auto elapsed = Clock::now() - start;
	ASSERT_FALSE(guard);
	EXPECT_EQ(guard.error().code, ErrorCode::Timeout) << guard.error().message;
	EXPECT_LT(elapsed, 500ms);
	start = Clock::now();
	auto held = sharedMemory->lock(300ms);
	elapsed = Clock::now() - start;
	ASSERT_FALSE(held);
	EXPECT_EQ(held.error().code, ErrorCode::Timeout) << held.error().message;
	EXPECT_LT(elapsed, 500ms);
	start = Clock::now();
	auto handle = lock->acquireHandle(LockMode::Exclusive, 300ms);
	elapsed = Clock::now() - start;
	ASSERT_FALSE(handle);
	EXPECT_EQ(handle.error().code, ErrorCode::Timeout) << handle.error().message;
	EXPECT_LT(elapsed, 500ms);
	thaw();
	// Whatever ipchubd granted late was given back: another client takes both.
	auto other = connect();
	auto otherLock = other.openLock("db");
	ASSERT_TRUE(otherLock);
	EXPECT_TRUE(waitFor([&] {
		return lock->mode().value_or(LockState::Exclusive) == LockState::Unlocked;
	}));
	EXPECT_TRUE(otherLock->acquire(LockMode::Exclusive, 2s));
}

TEST_F(TimeoutBoundTest, AnAsyncWaitAgainstAStoppedIpchubdEndsFromProcessWithinItsBound)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	const int fd = client.fd();
	ASSERT_GE(fd, 0);
	freeze();
	std::optional<Result<void>> outcome;
	const auto start = Clock::now();
	auto wait =
		semaphore->acquireAsync(1, 300ms, [&](Result<void> result) { outcome = result; });
	// An event loop: poll the Client's fd, wake for its next timeout, call process().
	while (!outcome && Clock::now() - start < 3s) {
		pollfd readable{fd, POLLIN, 0};
		const auto next = client.nextTimeout();
		const int ms =
			next ? static_cast<int>(
				       std::chrono::ceil<std::chrono::milliseconds>(*next).count())
			     : 1000;
		::poll(&readable, 1, ms);
		ASSERT_TRUE(client.process());
	}
	const auto elapsed = Clock::now() - start;
	thaw();
	ASSERT_TRUE(outcome) << "the callback did not run";
	ASSERT_FALSE(*outcome);
	EXPECT_EQ(outcome->error().code, ErrorCode::Timeout) << outcome->error().message;
	EXPECT_GE(elapsed, 300ms);
	EXPECT_LT(elapsed, 500ms);
	EXPECT_FALSE(wait.pending());
	// The wait left behind takes nothing once ipchubd runs again.
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_TRUE(waitFor([&] {
		return semaphore->waiters().value_or(1) == 0 && semaphore->value().value_or(0) == 1;
	}));
}

TEST_F(TimeoutBoundTest, ACallWithoutATimeoutOfItsOwnFollowsTheClientsCallTimeout)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3);
	ASSERT_TRUE(semaphore);
	client.setCallTimeout(300ms);
	freeze();
	const auto start = Clock::now();
	auto value = semaphore->value();
	const auto elapsed = Clock::now() - start;
	thaw();
	ASSERT_FALSE(value);
	EXPECT_EQ(value.error().code, ErrorCode::Timeout) << value.error().message;
	EXPECT_GE(elapsed, 300ms);
	EXPECT_LT(elapsed, 500ms);
	EXPECT_EQ(semaphore->value().value_or(0), 3u);
}

TEST_F(TimeoutBoundTest, AMissingIpchubdFailsFast)
{
	stopDaemon();
	ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
	auto client = connect();
	const auto start = Clock::now();
	auto semaphore = client.createSemaphore("jobs", 1);
	const auto elapsed = Clock::now() - start;
	ASSERT_FALSE(semaphore);
	EXPECT_EQ(semaphore.error().code, ErrorCode::Failed) << semaphore.error().message;
	EXPECT_NE(semaphore.error().message.find("not on the bus"), std::string::npos)
		<< semaphore.error().message;
	EXPECT_LT(elapsed, 1s);
}

} // namespace
} // namespace ipchub::test
