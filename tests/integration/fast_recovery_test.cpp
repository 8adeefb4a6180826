// SPDX-License-Identifier: LGPL-2.1-or-later
// Fast objects through the real ipchubd when clients of the page die: a SIGKILLed
// holder's lock and units come back to a waiter through the bus and to a waiter
// sleeping on the page, and a waiter woken and killed before it retried does not
// strand the others (ipchubd wakes every sleeper when it recovers a connection).

#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "fast/lock.hpp"
#include "fast/semaphore.hpp"
#include "fast_fixture.hpp"

namespace ipchub::test {
namespace {

using FastRecoveryTest = IpchubTest;

// Writes one byte to fd.
void tell(int fd, char c)
{
	(void)!write(fd, &c, 1);
}

// The next byte from fd, or 0 when none came within timeout.
char hear(int fd, std::chrono::milliseconds timeout = 10s)
{
	pollfd p{fd, POLLIN, 0};
	if (poll(&p, 1, static_cast<int>(timeout.count())) != 1)
		return 0;
	char c = 0;
	return read(fd, &c, 1) == 1 ? c : 0;
}

struct Pipe {
	int fds[2] = {-1, -1};
	Pipe() { EXPECT_EQ(pipe(fds), 0); }
	~Pipe()
	{
		close(fds[0]);
		close(fds[1]);
	}
	int in() const { return fds[0]; }
	int out() const { return fds[1]; }
};

// A child that attaches to the fast lock at path, takes it on the page, says 'h'
// and stays until killed.
Child lockHolder(const std::string &address, const std::string &path, int ready)
{
	return forkChild([=] {
		RawConnection raw(address);
		auto page = attachLock(raw, path);
		if (!fast::lock(page.view(), fast::makeToken(page.owner, 1),
				fast::Deadline::none()))
			return 1;
		tell(ready, 'h');
		pause();
		return 0;
	});
}

// A child that sleeps on the fast lock's page until it gets it (at most 20 s), then
// says 'g' ('d' when told the holder died), gives it back and exits 0.
Child lockWaiter(const std::string &address, const std::string &path, int said)
{
	return forkChild([=] {
		RawConnection raw(address);
		auto page = attachLock(raw, path);
		const uint32_t token = fast::makeToken(page.owner, 1);
		auto got = fast::lock(page.view(), token, fast::Deadline::after(20s));
		if (!got)
			return 2;
		tell(said, *got == fast::Acquired::OwnerDied ? 'd' : 'g');
		return fast::unlock(page.view(), token) ? 0 : 3;
	});
}

TEST_F(FastRecoveryTest, KilledLockHolderServesTheBusWaiterAndThePageWaiter)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto mine = attachLock(raw, path);
	Pipe pipe;
	Child holder = lockHolder(address(), path, pipe.out());
	ASSERT_EQ(hear(pipe.in()), 'h');
	Child waiter = lockWaiter(address(), path, pipe.out());
	// The page waiter sleeps once it has set WAITERS on the held word.
	ASSERT_TRUE(waitFor([&] { return (mine.view().word().load() & fast::kWaiters) != 0; }));
	RawConnection bus(address());
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
	auto acquired = callAsync(bus, proxies, path, kFastLock, "Acquire",
				  std::string("exclusive"), uint64_t{20'000'000});
	ASSERT_TRUE(bus.waitFor(
		[&] { return raw.property(path, kFastLock, "Waiters").get<uint32_t>() == 1; }));
	EXPECT_FALSE(acquired->done);

	holder.kill();
	// Whichever comes first, the other follows: the page waiter gives it back at once,
	// the bus waiter once released.
	ASSERT_TRUE(bus.waitFor([&] { return acquired->done; }, 15s));
	EXPECT_EQ(acquired->error, "") << acquired->message;
	auto proxy = sdbus::createProxy(bus.connection(), kFastBusName, path);
	proxy->callMethod("Release").onInterface(kFastLock);
	const char said = hear(pipe.in(), 15s);
	EXPECT_TRUE(said == 'd' || said == 'g') << int(said);
	EXPECT_EQ(waiter.wait(15s), 0);
	EXPECT_EQ(raw.property(path, kFastLock, "Mode").get<std::string>(), "unlocked");
}

TEST_F(FastRecoveryTest, KilledUnitHolderServesTheBusWaiterAndThePageWaiter)
{
	RawConnection raw(address());
	const auto path = createFastSemaphore(raw, "jobs", 2, 2);
	auto mine = attachSemaphore(raw, path);
	Pipe pipe;
	Child holder = forkChild([address = address(), path, ready = pipe.out()] {
		RawConnection raw(address);
		auto page = attachSemaphore(raw, path);
		fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
		for (int i = 0; i < 2; ++i)
			if (!fast::acquire(page.view(), me, fast::Deadline::none()))
				return 1;
		tell(ready, 'h');
		pause();
		return 0;
	});
	ASSERT_EQ(hear(pipe.in()), 'h');
	EXPECT_EQ(raw.value(path), 0u);
	Child waiter = forkChild([address = address(), path, said = pipe.out()] {
		RawConnection raw(address);
		auto page = attachSemaphore(raw, path);
		fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
		auto unit = fast::acquire(page.view(), me, fast::Deadline::after(20s));
		if (!unit)
			return 2;
		tell(said, unit->state == fast::Acquired::OwnerDied ? 'd' : 'g');
		pause();
		return 0;
	});
	ASSERT_TRUE(waitFor([&] { return mine.view().nwait().load() == 1; }));
	auto bus = std::make_unique<RawConnection>(address());
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
	auto acquired = callAsync(*bus, proxies, path, kFastSemaphore, "Acquire", uint32_t{1},
				  uint64_t{20'000'000});
	// One waiter on the page, one through the bus.
	ASSERT_TRUE(bus->waitFor([&] { return raw.waiters(path) == 2; }));

	holder.kill();
	ASSERT_TRUE(bus->waitFor([&] { return acquired->done; }, 15s));
	EXPECT_EQ(acquired->error, "") << acquired->message;
	EXPECT_EQ(hear(pipe.in(), 15s), 'd');
	EXPECT_EQ(raw.value(path), 0u);
	auto holders = raw.property(path, kFastSemaphore, "Holders")
			       .get<std::vector<sdbus::Struct<std::string, uint32_t>>>();
	EXPECT_EQ(holders.size(), 2u);
	// Both leave: every unit is back.
	waiter.kill();
	proxies.clear();
	bus.reset();
	EXPECT_TRUE(waitFor([&] { return raw.value(path) == 2; }));
	EXPECT_EQ(fast::freeUnits(mine.view()), 2u);
}

// A stand-in for a waiter that is woken and killed before it retries: it sleeps on the
// held lock word as a waiter does (WAITERS set), and dies as soon as it is woken.
Child wokenThenKilled(const std::string &address, const std::string &path, int ready)
{
	return forkChild([=] {
		RawConnection raw(address);
		auto page = attachLock(raw, path);
		fast::Word &word = page.view().word();
		uint32_t w = word.load();
		while (!word.compare_exchange_weak(w, w | fast::kWaiters))
			;
		tell(ready, 's');
		fast::futexWait(word, w | fast::kWaiters, fast::Deadline::never());
		raise(SIGKILL);
		return 0;
	});
}

TEST_F(FastRecoveryTest, AWokenWaiterKilledBeforeItRetriesStrandsNobody)
{
	RawConnection raw(address());
	const auto path = createFastLock(raw, "db");
	auto mine = attachLock(raw, path);
	const uint32_t token = fast::makeToken(mine.owner, 1);
	ASSERT_TRUE(fast::lock(mine.view(), token, fast::Deadline::none()));
	Pipe pipe;
	Child victim = wokenThenKilled(address(), path, pipe.out());
	ASSERT_EQ(hear(pipe.in()), 's');
	// Sleeping first, it is the one the unlock's single wake-up reaches.
	ASSERT_TRUE(waitFor([&] { return sleeping(victim.pid()); }));
	Child waiter = lockWaiter(address(), path, pipe.out());
	ASSERT_TRUE(waitFor([&] { return sleeping(waiter.pid()); }));
	std::this_thread::sleep_for(100ms);

	ASSERT_TRUE(fast::unlock(mine.view(), token));
	EXPECT_EQ(victim.wait(5s), 128 + SIGKILL);
	// Nobody else wakes the waiter: ipchubd does, recovering the victim's connection.
	EXPECT_EQ(hear(pipe.in(), 10s), 'g');
	EXPECT_EQ(waiter.wait(10s), 0);
}

} // namespace
} // namespace ipchub::test
