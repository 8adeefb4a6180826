// SPDX-License-Identifier: LGPL-2.1-or-later
// Bus-path calls on fast objects through the real ipchubd, with a client on the page:
// a contended Acquire, Wait ticket or AcquireHandle is served when the page's holder
// lets go there (ipchubd waits on the word without blocking its loop), timeouts end
// the wait, fencing tokens come from the page's counter, a consuming semaphore
// consumes, and gdbus and busctl work on a fast object another process uses.

#include <poll.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include "fast/lock.hpp"
#include "fast/semaphore.hpp"
#include "fast_fixture.hpp"

namespace ipchub::test {
namespace {

using FastBusTest = IpchubTest;
using HolderStruct =
	sdbus::Struct<std::string, std::string, uint32_t, std::string, uint64_t, uint64_t>;

TEST_F(FastBusTest, LockAcquireIsServedWhenThePageLetsGo)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto page = attachLock(raw, path);
	const uint32_t token = fast::makeToken(page.owner, 1);
	ASSERT_TRUE(fast::lock(page.view(), token, fast::Deadline::none()));

	RawConnection bus(address());
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
	auto acquired = callAsync(bus, proxies, path, kFastLock, "Acquire",
				  std::string("exclusive"), uint64_t{20'000'000});
	ASSERT_TRUE(bus.waitFor(
		[&] { return raw.property(path, kFastLock, "Waiters").get<uint32_t>() == 1; }));
	// ipchubd's loop answers others while its caller waits.
	EXPECT_EQ(raw.property(path, kFastLock, "Mode").get<std::string>(), "exclusive");
	bus.waitFor([] { return false; }, 50ms);
	EXPECT_FALSE(acquired->done);

	ASSERT_TRUE(fast::unlock(page.view(), token));
	ASSERT_TRUE(bus.waitFor([&] { return acquired->done; }, 10s));
	EXPECT_EQ(acquired->error, "") << acquired->message;
	EXPECT_EQ(raw.property(path, kFastLock, "Token").get<uint64_t>(), 1u);
	auto holders = raw.property(path, kFastLock, "Holders").get<std::vector<HolderStruct>>();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].get<0>(), bus.uniqueName());
	EXPECT_EQ(holders[0].get<4>(), 1u);
	auto blocked = fast::lock(page.view(), token, fast::Deadline::none());
	ASSERT_FALSE(blocked);

	auto proxy = sdbus::createProxy(bus.connection(), kFastBusName, path);
	proxy->callMethod("Release").onInterface(kFastLock);
	EXPECT_TRUE(fast::lock(page.view(), token, fast::Deadline::none()));
	// A wait that times out leaves the word as it was: the page's holder lets go and
	// takes it again.
	auto timedOut = callAsync(bus, proxies, path, kFastLock, "Acquire", std::string("shared"),
				  uint64_t{100'000});
	ASSERT_TRUE(bus.waitFor([&] { return timedOut->done; }, 10s));
	EXPECT_EQ(timedOut->error, errorName("Timeout"));
	EXPECT_EQ(raw.property(path, kFastLock, "Waiters").get<uint32_t>(), 0u);
	ASSERT_TRUE(fast::unlock(page.view(), token));
	EXPECT_TRUE(fast::lock(page.view(), token, fast::Deadline::none()));
}

TEST_F(FastBusTest, SemaphoreAcquireIsServedWhenThePageReleases)
{
	RawConnection raw(address());
	const auto path = createFastSemaphore(raw, "jobs", 1, 1);
	auto page = attachSemaphore(raw, path);
	fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
	auto unit = fast::acquire(page.view(), me, fast::Deadline::none());
	ASSERT_TRUE(unit);

	RawConnection bus(address());
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
	auto acquired = callAsync(bus, proxies, path, kFastSemaphore, "Acquire", uint32_t{1},
				  uint64_t{20'000'000});
	ASSERT_TRUE(bus.waitFor([&] { return raw.waiters(path) == 1; }));
	bus.waitFor([] { return false; }, 50ms);
	EXPECT_FALSE(acquired->done);

	ASSERT_TRUE(fast::release(page.view(), unit->index, me.token));
	ASSERT_TRUE(bus.waitFor([&] { return acquired->done; }, 10s));
	EXPECT_EQ(acquired->error, "") << acquired->message;
	EXPECT_EQ(raw.value(path), 0u);
	auto holders = raw.property(path, kFastSemaphore, "Holders")
			       .get<std::vector<sdbus::Struct<std::string, uint32_t>>>();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].get<0>(), bus.uniqueName());
	EXPECT_EQ(raw.waiters(path), 0u);
	// ipchubd no longer counts itself a sleeper of the page.
	EXPECT_EQ(page.view().nwait().load(), 0u);
}

TEST_F(FastBusTest, WaitTicketIsAnsweredWhenThePageLetsGo)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto page = attachLock(raw, path);
	const uint32_t token = fast::makeToken(page.owner, 1);
	ASSERT_TRUE(fast::lock(page.view(), token, fast::Deadline::none()));
	page.view().token().store(7);

	RawConnection bus(address());
	uint64_t endedTicket = 0, endedToken = 0;
	std::string endedError = "none";
	bus.addMatch(std::string("type='signal',interface='") + kFastLock + "',member='WaitEnded'",
		     [&](sdbus::Message &message) {
			     std::string text;
			     message >> endedTicket >> endedToken >> endedError >> text;
		     });
	auto proxy = sdbus::createProxy(bus.connection(), kFastBusName, path);
	uint64_t ticket = 0, granted = 0;
	proxy->callMethod("Wait")
		.onInterface(kFastLock)
		.withArguments(std::string("exclusive"), uint64_t{20'000'000})
		.storeResultsTo(ticket, granted);
	ASSERT_NE(ticket, 0u);
	ASSERT_TRUE(fast::unlock(page.view(), token));
	ASSERT_TRUE(bus.waitFor([&] { return endedTicket != 0; }, 10s));
	EXPECT_EQ(endedTicket, ticket);
	EXPECT_EQ(endedError, "");
	EXPECT_EQ(endedToken, 8u);
	EXPECT_EQ(page.view().token().load(), 8u);
}

TEST_F(FastBusTest, HandleHoldsTheFastLockUntilClosed)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto page = attachLock(raw, path);
	const uint32_t token = fast::makeToken(page.owner, 1);
	RawConnection bus(address());
	auto proxy = sdbus::createProxy(bus.connection(), kFastBusName, path);
	sdbus::UnixFd handle;
	uint64_t granted = 0;
	proxy->callMethod("AcquireHandle")
		.onInterface(kFastLock)
		.withArguments(std::string("exclusive"), uint64_t{5'000'000})
		.storeResultsTo(handle, granted);
	EXPECT_EQ(granted, 1u);
	EXPECT_FALSE(fast::lock(page.view(), token, fast::Deadline::none()));
	handle = sdbus::UnixFd();
	ASSERT_TRUE(waitFor([&] {
		return raw.property(path, kFastLock, "Mode").get<std::string>() == "unlocked";
	}));
	EXPECT_TRUE(fast::lock(page.view(), token, fast::Deadline::none()));
}

TEST_F(FastBusTest, ConsumingSemaphoreConsumesAndPosts)
{
	RawConnection raw(address());
	const auto path = raw.createSemaphore("counter", 1,
					      {{"fast", sdbus::Variant(true)},
					       {"max", sdbus::Variant(uint32_t{2})},
					       {"return_on_exit", sdbus::Variant(false)}});
	auto page = attachSemaphore(raw, path);
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, path);
	proxy->callMethod("Acquire").onInterface(kFastSemaphore).withArguments(1u, uint64_t{0});
	EXPECT_EQ(raw.value(path), 0u);
	EXPECT_EQ(fast::absentUnits(page.view()), 2u);
	using Holders = std::vector<sdbus::Struct<std::string, uint32_t>>;
	EXPECT_TRUE(raw.property(path, kFastSemaphore, "Holders").get<Holders>().empty());
	proxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(2u);
	EXPECT_EQ(fast::freeUnits(page.view()), 2u);
}

// A child that takes and gives back the fast lock on its page in a loop, each time
// writing its mark into shared[0] and checking it is still there before it lets go;
// it counts violations in shared[1] and its rounds in shared[2]. It ends when told (a byte on
// stop).
Child pageUser(const std::string &address, const std::string &path, int stop,
	       std::atomic<uint32_t> *shared)
{
	return forkChild([=] {
		RawConnection raw(address);
		auto page = attachLock(raw, path);
		const uint32_t token = fast::makeToken(page.owner, 1);
		pollfd p{stop, POLLIN, 0};
		while (poll(&p, 1, 0) == 0) {
			if (!fast::lock(page.view(), token, fast::Deadline::after(10s)))
				return 2;
			shared[0].store(1);
			for (int i = 0; i < 200; ++i)
				if (shared[0].load() != 1)
					shared[1]++;
			shared[2]++;
			if (!fast::unlock(page.view(), token))
				return 3;
		}
		return 0;
	});
}

TEST_F(FastBusTest, GdbusAndBusctlOnAFastLockAnotherProcessUses)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto *shared = static_cast<std::atomic<uint32_t> *>(
		mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	ASSERT_NE(shared, MAP_FAILED);
	int stop[2];
	ASSERT_EQ(pipe(stop), 0);
	Child user = pageUser(address(), path, stop[0], shared);
	ASSERT_TRUE(waitFor([&] { return shared[0].load() == 1; }));

	// gdbus holds it through the bus for as long as its call runs... and its exit
	// gives it back. A grant in between must exclude the page's user.
	auto acquired =
		gdbusCall(path, "io.github.ipchub1.Lock.Acquire", {"exclusive", "10000000"});
	EXPECT_EQ(acquired.status, 0) << acquired.err;
	EXPECT_NE(acquired.out.find("uint64"), std::string::npos) << acquired.out;
	auto mode =
		run({"busctl", "--user", "get-property", kFastBusName, path, kFastLock, "Mode"});
	EXPECT_EQ(mode.status, 0) << mode.err;
	EXPECT_NE(mode.out.find("s \""), std::string::npos) << mode.out;
	auto fastProperty =
		run({"busctl", "--user", "get-property", kFastBusName, path, kFastLock, "Fast"});
	EXPECT_EQ(fastProperty.out, "b true\n");
	auto tried = run({"busctl", "--user", "call", kFastBusName, path, kFastLock, "TryAcquire",
			  "s", "shared"});
	EXPECT_EQ(tried.status, 0) << tried.err;
	// The page's user goes on: nothing of the bus callers is left on the word.
	const uint64_t before = raw.property(path, kFastLock, "Token").get<uint64_t>();
	EXPECT_GE(before, 1u);
	const uint32_t rounds = shared[2].load();
	ASSERT_TRUE(waitFor([&] { return shared[2].load() > rounds; }));
	// A grant held through the bus keeps the page's user out while it lasts.
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, path);
	uint64_t granted = 0;
	proxy->callMethod("Acquire")
		.onInterface(kFastLock)
		.withArguments(std::string("exclusive"), uint64_t{10'000'000})
		.storeResultsTo(granted);
	EXPECT_GT(granted, before);
	shared[0].store(2);
	std::this_thread::sleep_for(100ms);
	EXPECT_EQ(shared[0].load(), 2u);
	proxy->callMethod("Release").onInterface(kFastLock);
	ASSERT_TRUE(waitFor([&] { return shared[0].load() == 1; }));

	(void)!write(stop[1], "x", 1);
	EXPECT_EQ(user.wait(10s), 0);
	EXPECT_EQ(shared[1].load(), 0u);
	close(stop[0]);
	close(stop[1]);
	munmap(shared, 4096);
}

TEST_F(FastBusTest, GdbusOnAFastSemaphoreAnotherProcessUses)
{
	RawConnection raw(address());
	const auto path = createFastSemaphore(raw, "jobs", 2, 2);
	Child user = forkChild([address = address(), path] {
		RawConnection raw(address);
		auto page = attachSemaphore(raw, path);
		fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
		for (;;) {
			auto unit = fast::acquire(page.view(), me, fast::Deadline::after(10s));
			if (!unit)
				return 2;
			if (!fast::release(page.view(), unit->index, me.token))
				return 3;
		}
	});
	for (int i = 0; i < 20; ++i) {
		auto acquired =
			gdbusCall(path, "io.github.ipchub1.Semaphore.Acquire", {"1", "10000000"});
		ASSERT_EQ(acquired.status, 0) << acquired.err;
	}
	auto value = run(
		{"busctl", "--user", "get-property", kFastBusName, path, kFastSemaphore, "Value"});
	EXPECT_EQ(value.status, 0) << value.err;
	user.kill();
	// Every unit is back once the page's user is gone too.
	EXPECT_TRUE(waitFor([&] { return raw.value(path) == 2; }));
}

} // namespace
} // namespace ipchub::test
