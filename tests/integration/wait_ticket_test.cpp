// SPDX-License-Identifier: LGPL-2.1-or-later
// Wait, CancelWait and WaitEnded (semaphores and locks) through the real ipchubd:
// granted at once, granted later by a unicast signal that no other connection sees,
// timeout, cancel, FIFO order shared with Acquire callers, a waiter killed while
// waiting, and libipchub's waits, which go through tickets.

#include <thread>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using WaitTicketTest = IpchubTest;
using Clock = std::chrono::steady_clock;

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";
constexpr const char *kLockInterface = "io.github.ipchub1.Lock";
constexpr const char *kSharedMemoryInterface = "io.github.ipchub1.SharedMemory";

// What one WaitEnded said.
struct Ended {
	uint64_t ticket = 0;
	uint64_t token = 0;
	std::string error;
	std::string message;
	Clock::time_point at;
};

// A raw connection that calls Wait and CancelWait and records the WaitEnded signals
// it gets (on the semaphore or lock interface).
class Waiter
{
public:
	Waiter(const std::string &address, const std::string &path, const char *interface)
		: raw(address), path_(path), interface_(interface),
		  proxy_(sdbus::createProxy(raw.connection(), "io.github.ipchub1", path))
	{
		raw.addMatch(std::string("type='signal',interface='") + interface +
				     "',member='WaitEnded'",
			     [this](sdbus::Message &message) {
				     Ended end;
				     message >> end.ticket;
				     if (interface_ == kLockInterface)
					     message >> end.token;
				     message >> end.error >> end.message;
				     end.at = Clock::now();
				     ended.push_back(end);
			     });
	}

	uint64_t wait(uint32_t n, uint64_t timeoutUsec)
	{
		uint64_t ticket = 0;
		proxy_->callMethod("Wait")
			.onInterface(interface_)
			.withArguments(n, timeoutUsec)
			.storeResultsTo(ticket);
		return ticket;
	}

	std::tuple<uint64_t, uint64_t> waitLock(const std::string &mode, uint64_t timeoutUsec)
	{
		uint64_t ticket = 0, token = 0;
		proxy_->callMethod("Wait")
			.onInterface(interface_)
			.withArguments(mode, timeoutUsec)
			.storeResultsTo(ticket, token);
		return {ticket, token};
	}

	uint64_t waitSharedMemoryLock(uint64_t timeoutUsec)
	{
		uint64_t ticket = 0;
		proxy_->callMethod("WaitLock")
			.onInterface(interface_)
			.withArguments(timeoutUsec)
			.storeResultsTo(ticket);
		return ticket;
	}

	void cancel(uint64_t ticket)
	{
		proxy_->callMethod("CancelWait").onInterface(interface_).withArguments(ticket);
	}

	const Ended *endOf(uint64_t ticket) const
	{
		for (const auto &end : ended)
			if (end.ticket == ticket)
				return &end;
		return nullptr;
	}

	RawConnection raw;
	std::vector<Ended> ended;

private:
	std::string path_;
	std::string interface_;
	std::unique_ptr<sdbus::IProxy> proxy_;
};

TEST_F(WaitTicketTest, FreeUnitsAreGrantedAtOnceWithTicketZero)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	Waiter waiter(address(), semaphore->path(), kSemaphoreInterface);
	EXPECT_EQ(waiter.wait(2, UINT64_MAX), 0u);
	EXPECT_EQ(semaphore->value().value(), 0u);
	try {
		waiter.wait(1, 0);
		ADD_FAILURE() << "Wait with timeout 0 on a taken semaphore succeeded";
	} catch (const sdbus::Error &e) {
		EXPECT_EQ(e.getName(), errorName("WouldBlock"));
	}
	EXPECT_EQ(semaphore->waiters().value(), 0u);
}

TEST_F(WaitTicketTest, QueuedWaitIsGrantedByASignalOnlyTheWaiterGets)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	Waiter waiter(address(), semaphore->path(), kSemaphoreInterface);
	// Another connection that listens for every WaitEnded there is.
	Waiter other(address(), semaphore->path(), kSemaphoreInterface);
	const uint64_t ticket = waiter.wait(1, UINT64_MAX);
	ASSERT_NE(ticket, 0u);
	EXPECT_EQ(semaphore->waiters().value(), 1u);
	waiter.raw.pump();
	EXPECT_TRUE(waiter.ended.empty());

	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(waiter.raw.waitFor([&] { return waiter.endOf(ticket) != nullptr; }));
	EXPECT_EQ(waiter.endOf(ticket)->error, "");
	EXPECT_EQ(waiter.ended.size(), 1u);
	EXPECT_EQ(semaphore->value().value(), 0u);
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].uniqueName, waiter.raw.uniqueName());
	// Unicast: the other connection's match does not see it.
	EXPECT_FALSE(other.raw.waitFor([&] { return !other.ended.empty(); }, 300ms));
}

TEST_F(WaitTicketTest, TimeoutEndsTheTicketWithTimeout)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	Waiter waiter(address(), semaphore->path(), kSemaphoreInterface);
	const auto start = Clock::now();
	const uint64_t ticket = waiter.wait(1, 150'000);
	ASSERT_NE(ticket, 0u);
	ASSERT_TRUE(waiter.raw.waitFor([&] { return waiter.endOf(ticket) != nullptr; }));
	EXPECT_EQ(waiter.endOf(ticket)->error, errorName("Timeout"));
	EXPECT_NE(waiter.endOf(ticket)->message, "");
	EXPECT_GE(waiter.endOf(ticket)->at - start, 150ms);
	EXPECT_EQ(semaphore->waiters().value(), 0u);
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(semaphore->value().value(), 1u);
}

TEST_F(WaitTicketTest, CancelWaitEndsOnlyTheCallersOwnTicket)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	Waiter waiter(address(), semaphore->path(), kSemaphoreInterface);
	Waiter stranger(address(), semaphore->path(), kSemaphoreInterface);
	const uint64_t ticket = waiter.wait(1, UINT64_MAX);
	ASSERT_NE(ticket, 0u);
	stranger.cancel(ticket);
	EXPECT_EQ(semaphore->waiters().value(), 1u);

	waiter.cancel(ticket);
	// WaitEnded was sent before CancelWait's reply: it has arrived already.
	waiter.raw.pump();
	ASSERT_NE(waiter.endOf(ticket), nullptr);
	EXPECT_EQ(waiter.endOf(ticket)->error, errorName("Cancelled"));
	EXPECT_EQ(semaphore->waiters().value(), 0u);
	// Cancelling an ended ticket does nothing.
	waiter.cancel(ticket);
	waiter.raw.pump();
	EXPECT_EQ(waiter.ended.size(), 1u);
	EXPECT_TRUE(stranger.ended.empty());
}

TEST_F(WaitTicketTest, TicketsAndAcquireCallsShareOneFifoQueue)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	RawConnection first(address());
	Waiter second(address(), semaphore->path(), kSemaphoreInterface);
	RawConnection third(address());
	auto one = first.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value() == 1; }));
	const uint64_t two = second.wait(2, UINT64_MAX);
	ASSERT_NE(two, 0u);
	auto three = third.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value() == 3; }));

	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(first.waitFor([&] { return one->done; }));
	EXPECT_EQ(one->error, "");
	// One unit is not enough for the ticket at the head: the later call waits too.
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_FALSE(third.waitFor([&] { return three->done; }, 200ms));
	second.raw.pump();
	EXPECT_EQ(second.endOf(two), nullptr);
	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(second.raw.waitFor([&] { return second.endOf(two) != nullptr; }));
	EXPECT_EQ(second.endOf(two)->error, "");
	EXPECT_FALSE(three->done);
	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(third.waitFor([&] { return three->done; }));
	EXPECT_EQ(three->error, "");
}

TEST_F(WaitTicketTest, AKilledWaiterLosesItsPlace)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	// The library waits through a ticket: the child keeps no call pending.
	Child child = forkChild([address = address()] {
		auto client = Client::connect(address);
		auto semaphore = client->openSemaphore("jobs");
		return semaphore && semaphore->acquire(1, kForever) ? 0 : 1;
	});
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value() == 1; }));
	Waiter behind(address(), semaphore->path(), kSemaphoreInterface);
	const uint64_t ticket = behind.wait(1, UINT64_MAX);
	ASSERT_NE(ticket, 0u);
	child.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value() == 1; }));
	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(behind.raw.waitFor([&] { return behind.endOf(ticket) != nullptr; }));
	EXPECT_EQ(behind.endOf(ticket)->error, "");
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(WaitTicketTest, LibraryAcquireWaitsThroughATicketAndIsGranted)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	std::thread releaser([&] {
		auto other = connect();
		auto opened = other.openSemaphore("jobs");
		if (opened && waitFor([&] { return opened->waiters().value() == 1; }))
			(void)opened->release(1);
	});
	auto acquired = semaphore->acquire(1, 10s);
	releaser.join();
	ASSERT_TRUE(acquired) << acquired.error().message;
	EXPECT_EQ(semaphore->value().value(), 0u);
	auto timedOut = semaphore->acquire(1, 100ms);
	ASSERT_FALSE(timedOut);
	EXPECT_EQ(timedOut.error().code, ErrorCode::Timeout);
	EXPECT_EQ(semaphore->waiters().value(), 0u);
}

TEST_F(WaitTicketTest, LibraryWaitEndsWhenIpchubdLeaves)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	auto observer = connect();
	auto opened = observer.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	Result<void> acquired;
	std::thread waiter([&] { acquired = semaphore->acquire(1, kForever); });
	const bool parked = waitFor([&] { return opened->waiters().value_or(0) == 1; });
	stopDaemon(SIGKILL);
	waiter.join();
	ASSERT_TRUE(parked);
	ASSERT_FALSE(acquired);
	EXPECT_EQ(acquired.error().code, ErrorCode::Failed) << acquired.error().message;
}

TEST_F(WaitTicketTest, LockTicketsCarryTheToken)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	auto held = lock->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(held);
	Waiter waiter(address(), lock->path(), kLockInterface);
	const auto [ticket, none] = waiter.waitLock("shared", UINT64_MAX);
	ASSERT_NE(ticket, 0u);
	EXPECT_EQ(none, 0u);
	const auto [timedOut, zero] = waiter.waitLock("exclusive", 100'000);
	ASSERT_NE(timedOut, 0u);
	ASSERT_TRUE(waiter.raw.waitFor([&, t = timedOut] { return waiter.endOf(t) != nullptr; }));
	EXPECT_EQ(waiter.endOf(timedOut)->error, errorName("Timeout"));
	EXPECT_EQ(waiter.endOf(timedOut)->token, 0u);

	ASSERT_TRUE(held->release());
	ASSERT_TRUE(waiter.raw.waitFor([&, t = ticket] { return waiter.endOf(t) != nullptr; }));
	EXPECT_EQ(waiter.endOf(ticket)->error, "");
	EXPECT_GT(waiter.endOf(ticket)->token, held->token());
	EXPECT_EQ(lock->mode().value(), LockState::Shared);

	// The library's timed waits are tickets too: one behind the shared holder.
	auto other = connect();
	auto opened = other.openLock("db");
	ASSERT_TRUE(opened);
	auto denied = opened->acquire(LockMode::Exclusive, 100ms);
	ASSERT_FALSE(denied);
	EXPECT_EQ(denied.error().code, ErrorCode::Timeout);
	EXPECT_EQ(lock->waiters().value(), 0u);
	auto shared = opened->acquire(LockMode::Shared, 1s);
	ASSERT_TRUE(shared) << shared.error().message;
	EXPECT_GT(shared->token(), waiter.endOf(ticket)->token);
}

TEST_F(WaitTicketTest, SharedMemoryLockTickets)
{
	auto client = connect();
	auto sharedMemory = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(sharedMemory);
	auto held = sharedMemory->lock(0us);
	ASSERT_TRUE(held);
	Waiter waiter(address(), sharedMemory->path(), kSharedMemoryInterface);
	const uint64_t timedOut = waiter.waitSharedMemoryLock(100'000);
	ASSERT_NE(timedOut, 0u);
	ASSERT_TRUE(waiter.raw.waitFor([&] { return waiter.endOf(timedOut) != nullptr; }));
	EXPECT_EQ(waiter.endOf(timedOut)->error, errorName("Timeout"));
	const uint64_t cancelled = waiter.waitSharedMemoryLock(UINT64_MAX);
	ASSERT_NE(cancelled, 0u);
	waiter.cancel(cancelled);
	waiter.raw.pump();
	ASSERT_NE(waiter.endOf(cancelled), nullptr);
	EXPECT_EQ(waiter.endOf(cancelled)->error, errorName("Cancelled"));
	const uint64_t ticket = waiter.waitSharedMemoryLock(UINT64_MAX);
	ASSERT_NE(ticket, 0u);
	ASSERT_TRUE(held->unlock());
	ASSERT_TRUE(waiter.raw.waitFor([&] { return waiter.endOf(ticket) != nullptr; }));
	EXPECT_EQ(waiter.endOf(ticket)->error, "");
	EXPECT_EQ(waiter.raw.property(sharedMemory->path(), kSharedMemoryInterface, "LockHolder")
			  .get<std::string>(),
		  waiter.raw.uniqueName());

	// The library's timed shared-memory lock waits through a ticket too.
	auto denied = sharedMemory->lock(100ms);
	ASSERT_FALSE(denied);
	EXPECT_EQ(denied.error().code, ErrorCode::Timeout) << denied.error().message;
}

} // namespace
} // namespace ipchub::test
