// SPDX-License-Identifier: LGPL-2.1-or-later
// A client that scribbles random bytes over the pages of fast objects it attached:
// ipchubd stays up, answers every call on those objects (whatever the words say), and
// serves every other object as before; when the scribbler is killed, the recovery of
// its words on the scribbled pages ends too.

#include <csignal>
#include <cstring>
#include <random>

#include "fast/lock.hpp"
#include "fast/semaphore.hpp"
#include "fast_fixture.hpp"

namespace ipchub::test {
namespace {

using FastHostileTest = IpchubTest;

// Fills the mapping with random bytes, over and over, until killed.
[[noreturn]] void scribble(const std::vector<fast::Mapping *> &pages)
{
	std::mt19937_64 random(getpid());
	for (;;)
		for (auto *page : pages) {
			auto *words = static_cast<uint64_t *>(page->address());
			for (size_t i = 0; i < page->size() / sizeof(uint64_t); ++i)
				words[i] = random();
			// Sometimes a wake-up storm on the words ipchubd waits on.
			fast::futexWake(*static_cast<fast::Word *>(page->address()), INT_MAX);
		}
}

TEST_F(FastHostileTest, ScribbledPagesBreakNothingButTheirObjects)
{
	RawConnection raw(address());
	const auto semaphore = createFastSemaphore(raw, "scribbled", 4, 8);
	const auto lock = createFastLock(raw, "scribbled");
	const auto otherLock = createFastLock(raw, "other");
	const auto plain = createFastSemaphore(raw, "plain", 1, 1, false);
	auto otherPage = attachLock(raw, otherLock);

	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child scribbler = forkChild([address = address(), semaphore, lock, ready = ready[1]] {
		RawConnection raw(address);
		auto sem = attachSemaphore(raw, semaphore);
		auto lk = attachLock(raw, lock);
		// Holds through the bus too, so that its departure has grants to recover.
		auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, lock);
		bool acquired = false;
		uint64_t token = 0;
		proxy->callMethod("TryAcquire")
			.onInterface(kFastLock)
			.withArguments(std::string("exclusive"))
			.storeResultsTo(acquired, token);
		(void)!write(ready, "s", 1);
		scribble({&sem.mapping, &lk.mapping});
		return 0;
	});
	char c = 0;
	ASSERT_EQ(read(ready[0], &c, 1), 1);

	RawConnection bus(address());
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
	auto semProxy = sdbus::createProxy(bus.connection(), kFastBusName, semaphore);
	auto lockProxy = sdbus::createProxy(bus.connection(), kFastBusName, lock);
	auto plainProxy = sdbus::createProxy(bus.connection(), kFastBusName, plain);
	auto otherProxy = sdbus::createProxy(bus.connection(), kFastBusName, otherLock);
	const auto until = std::chrono::steady_clock::now() + 1500ms;
	int rounds = 0;
	while (std::chrono::steady_clock::now() < until) {
		++rounds;
		// The scribbled objects answer, whatever they answer.
		auto waited = callAsync(bus, proxies, lock, kFastLock, "Acquire",
					std::string(rounds % 2 ? "exclusive" : "shared"),
					uint64_t{20'000});
		try {
			bool taken = false;
			semProxy->callMethod("TryAcquire")
				.onInterface(kFastSemaphore)
				.withArguments(uint32_t{2})
				.storeResultsTo(taken);
			semProxy->callMethod("Release")
				.onInterface(kFastSemaphore)
				.withArguments(1u);
		} catch (const sdbus::Error &) {
		}
		try {
			lockProxy->callMethod("Release").onInterface(kFastLock);
		} catch (const sdbus::Error &) {
		}
		(void)raw.property(semaphore, kFastSemaphore, "Holders");
		(void)raw.property(semaphore, kFastSemaphore, "Value");
		(void)raw.property(lock, kFastLock, "Holders");
		(void)raw.property(lock, kFastLock, "Mode");
		ASSERT_TRUE(bus.waitFor([&] { return waited->done; }, 10s));
		// The others work exactly.
		plainProxy->callMethod("Acquire")
			.onInterface(kFastSemaphore)
			.withArguments(1u, uint64_t{1'000'000});
		plainProxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(1u);
		uint64_t token = 0;
		otherProxy->callMethod("Acquire")
			.onInterface(kFastLock)
			.withArguments(std::string("exclusive"), uint64_t{1'000'000})
			.storeResultsTo(token);
		ASSERT_EQ(token, static_cast<uint64_t>(rounds));
		ASSERT_FALSE(fast::lock(otherPage.view(), fast::makeToken(otherPage.owner, 1),
					fast::Deadline::none()));
		otherProxy->callMethod("Release").onInterface(kFastLock);
		proxies.clear();
	}
	EXPECT_GT(rounds, 5);

	scribbler.kill();
	// Its departure (recovery over the scribbled words) is done when a later call of
	// this connection is answered: ipchubd handles the bus's messages in order.
	(void)raw.property(semaphore, kFastSemaphore, "Value");
	EXPECT_EQ(kill(daemonPid(), 0), 0);
	EXPECT_EQ(raw.value(plain), 1u);
	auto fresh = createFastSemaphore(raw, "fresh", 1, 1);
	auto page = attachSemaphore(raw, fresh);
	fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
	EXPECT_TRUE(fast::acquire(page.view(), me, fast::Deadline::none()));
	EXPECT_EQ(raw.value(fresh), 0u);
	close(ready[0]);
	close(ready[1]);
}

} // namespace
} // namespace ipchub::test
