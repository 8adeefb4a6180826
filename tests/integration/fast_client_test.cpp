// SPDX-License-Identifier: LGPL-2.1-or-later
// libipchub on fast objects, through the real ipchubd: many threads of one Client on a
// fast semaphore and a fast lock, with ipchubd stopped (SIGSTOP) all along, which shows
// that the page alone serves them; timeouts, units never held in part, owner-died
// reporting, the bus path for waits of acquireAsync, and a restart of ipchubd.

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include "bus_fixture.hpp"
#include "fd_store_manager.hpp"

namespace ipchub::test {
namespace {

using FastClientTest = IpchubTest;

constexpr int kThreads = 8;
constexpr int kRounds = 4000;

// ipchubd stopped for the scope's life: a call to it could only time out.
class StoppedDaemon
{
public:
	explicit StoppedDaemon(pid_t pid) : pid_(pid) { ::kill(pid_, SIGSTOP); }
	~StoppedDaemon() { ::kill(pid_, SIGCONT); }
	StoppedDaemon(const StoppedDaemon &) = delete;
	StoppedDaemon &operator=(const StoppedDaemon &) = delete;

private:
	pid_t pid_;
};

TEST_F(FastClientTest, EightThreadsShareAFastSemaphoreWithoutTheBus)
{
	auto client = connect();
	// A call that reached the stopped ipchubd would fail soon.
	client.setCallTimeout(2s);
	auto sem = client.createSemaphore("fast-jobs", 3, {.fast = true});
	ASSERT_TRUE(sem) << sem.error().message;
	std::atomic<int> inside{0};
	std::atomic<int> most{0};
	std::atomic<int> failures{0};
	{
		StoppedDaemon stopped(daemonPid());
		std::vector<std::thread> threads;
		for (int t = 0; t < kThreads; ++t)
			threads.emplace_back([&, t] {
				for (int i = 0; i < kRounds; ++i) {
					// Half the threads through guards, half through
					// acquire/release.
					std::optional<SemaphoreGuard> guard;
					if (t % 2) {
						auto taken = sem->acquireGuard(1, 10s);
						if (!taken) {
							failures++;
							continue;
						}
						guard.emplace(std::move(*taken));
					} else if (!sem->acquire(1, 10s)) {
						failures++;
						continue;
					}
					const int now = ++inside;
					int seen = most.load();
					while (now > seen && !most.compare_exchange_weak(seen, now))
						;
					// Inside for a while, so that the threads overlap.
					for (int spin = 0; spin < 20 && inside.load() < 3; ++spin)
						std::this_thread::yield();
					--inside;
					if (guard ? !guard->release() : !sem->release(1))
						failures++;
				}
			});
		for (auto &thread : threads)
			thread.join();
	}
	EXPECT_EQ(failures.load(), 0);
	EXPECT_LE(most.load(), 3);
	EXPECT_GE(most.load(), 2) << "the threads never overlapped: the test shows nothing";
	// ipchubd reads the value from the page: every unit is back.
	EXPECT_EQ(sem->value().value_or(0), 3u);
}

TEST_F(FastClientTest, EightThreadsExcludeEachOtherOnAFastLockWithoutTheBus)
{
	auto client = connect();
	client.setCallTimeout(2s);
	auto lock = client.createLock("fast-db", {.fast = true});
	ASSERT_TRUE(lock) << lock.error().message;
	const uint64_t tokenBefore = lock->token().value_or(UINT64_MAX);
	std::atomic<int> writers{0};
	std::atomic<int> readers{0};
	std::atomic<int> violations{0};
	std::atomic<int> failures{0};
	std::atomic<uint64_t> lastToken{0};
	std::atomic<int> tokenOrder{0};
	{
		StoppedDaemon stopped(daemonPid());
		std::vector<std::thread> threads;
		for (int t = 0; t < kThreads; ++t)
			threads.emplace_back([&, t] {
				for (int i = 0; i < kRounds; ++i) {
					const bool exclusive = t % 4 != 3;
					auto guard = lock->acquire(exclusive ? LockMode::Exclusive
									     : LockMode::Shared,
								   10s);
					if (!guard) {
						failures++;
						continue;
					}
					if (exclusive) {
						if (++writers != 1 || readers.load() != 0)
							violations++;
						// Fencing tokens grow with every exclusive grant.
						if (guard->token() <= lastToken.load())
							tokenOrder++;
						lastToken = guard->token();
						--writers;
					} else {
						++readers;
						if (writers.load() != 0)
							violations++;
						--readers;
					}
					if (!guard->release())
						failures++;
				}
			});
		for (auto &thread : threads)
			thread.join();
	}
	EXPECT_EQ(failures.load(), 0);
	EXPECT_EQ(violations.load(), 0);
	EXPECT_EQ(tokenOrder.load(), 0);
	EXPECT_EQ(lock->mode().value_or(LockState::Exclusive), LockState::Unlocked);
	// Every grant took a token from the page's counter, which the bus reads.
	EXPECT_EQ(lock->token().value_or(0), tokenBefore + uint64_t(kThreads) * kRounds);
}

TEST_F(FastClientTest, TimeoutsAreHonouredAndNoUnitIsHeldInPart)
{
	auto client = connect();
	auto other = connect();
	auto lock = client.createLock("fast-timeouts", {.fast = true});
	ASSERT_TRUE(lock) << lock.error().message;
	auto otherLock = other.openLock("fast-timeouts");
	ASSERT_TRUE(otherLock) << otherLock.error().message;
	auto held = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(held);

	auto tried = otherLock->tryAcquire();
	ASSERT_TRUE(tried);
	EXPECT_FALSE(tried->has_value());
	auto start = std::chrono::steady_clock::now();
	auto late = otherLock->acquire(LockMode::Exclusive, 300ms);
	auto took = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(late);
	EXPECT_EQ(late.error().code, ErrorCode::Timeout);
	EXPECT_GE(took, 300ms);
	EXPECT_LT(took, 450ms);
	// The same thread again on its own lock: an error, not a hang.
	auto again = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ErrorCode::InvalidArgument);
	ASSERT_TRUE(held->release());
	auto now = otherLock->acquire(LockMode::Exclusive, 300ms);
	ASSERT_TRUE(now) << now.error().message;
	ASSERT_TRUE(now->release());

	auto sem = client.createSemaphore("fast-units", 3, {.max = 3, .fast = true});
	ASSERT_TRUE(sem) << sem.error().message;
	auto otherSem = other.openSemaphore("fast-units");
	ASSERT_TRUE(otherSem) << otherSem.error().message;
	auto two = sem->acquireGuard(2, 1s);
	ASSERT_TRUE(two) << two.error().message;
	EXPECT_EQ(two->units(), 2u);
	start = std::chrono::steady_clock::now();
	auto many = otherSem->acquire(2, 300ms);
	took = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(many);
	EXPECT_EQ(many.error().code, ErrorCode::Timeout);
	EXPECT_GE(took, 300ms);
	EXPECT_LT(took, 450ms);
	// The one free unit was not kept by the wait for two.
	EXPECT_EQ(sem->value().value_or(0), 1u);
	EXPECT_TRUE(otherSem->tryAcquire(1).value_or(false));
	EXPECT_FALSE(otherSem->tryAcquire(1).value_or(true));
	ASSERT_TRUE(otherSem->release(1));
	ASSERT_TRUE(two->release());
	EXPECT_EQ(sem->value().value_or(0), 3u);
	// A wait for two ends as soon as two are free.
	auto all = sem->acquireGuard(3, 1s);
	ASSERT_TRUE(all);
	std::thread freeing([&] {
		std::this_thread::sleep_for(100ms);
		(void)all->release();
	});
	EXPECT_TRUE(otherSem->acquire(2, 2s));
	freeing.join();
	ASSERT_TRUE(otherSem->release(2));
	// n outside 1..max.
	EXPECT_EQ(sem->acquire(4, 0ms).error().code, ErrorCode::InvalidArgument);
	EXPECT_EQ(sem->acquire(0, 0ms).error().code, ErrorCode::InvalidArgument);
	// Posts up to max, then LimitExceeded naming max.
	auto past = sem->release(1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(past.error().message.find("max"), std::string::npos);
}

TEST_F(FastClientTest, AHolderThatDiesIsReportedToTheNextHolder)
{
	auto client = connect();
	auto lock = client.createLock("fast-died", {.fast = true});
	ASSERT_TRUE(lock) << lock.error().message;
	auto sem = client.createSemaphore("fast-died", 1, {.fast = true});
	ASSERT_TRUE(sem) << sem.error().message;
	auto clean = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(clean);
	EXPECT_FALSE(clean->previousOwnerDied());
	ASSERT_TRUE(clean->release());

	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child holder = forkChild([&] {
		auto own = Client::connect(address());
		if (!own)
			return 1;
		auto ownLock = own->openLock("fast-died");
		auto ownSem = own->openSemaphore("fast-died");
		if (!ownLock || !ownSem)
			return 2;
		auto guard = ownLock->acquire(LockMode::Exclusive, 5s);
		auto unit = ownSem->acquireGuard(1, 5s);
		if (!guard || !unit)
			return 3;
		(void)!write(ready[1], "x", 1);
		pause();
		return 0;
	});
	char byte = 0;
	ASSERT_EQ(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	close(ready[1]);
	EXPECT_FALSE(lock->tryAcquire().value_or(std::nullopt).has_value());
	holder.kill(SIGKILL);
	auto next = lock->acquire(LockMode::Exclusive, 5s);
	ASSERT_TRUE(next) << next.error().message;
	EXPECT_TRUE(next->previousOwnerDied());
	ASSERT_TRUE(next->release());
	auto unit = sem->acquireGuard(1, 5s);
	ASSERT_TRUE(unit) << unit.error().message;
	EXPECT_TRUE(unit->previousOwnerDied());
	ASSERT_TRUE(unit->release());
	auto after = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(after);
	EXPECT_FALSE(after->previousOwnerDied());
}

TEST_F(FastClientTest, AsyncWaitsTakeFreeUnitsAtOnceAndWaitThroughTheBus)
{
	auto client = connect();
	auto other = connect();
	auto lock = client.createLock("fast-async", {.fast = true});
	ASSERT_TRUE(lock) << lock.error().message;
	auto otherLock = other.openLock("fast-async");
	ASSERT_TRUE(otherLock);
	std::optional<Result<LockGuard>> got;
	auto pending = lock->acquireAsync(LockMode::Exclusive, 2s, [&](Result<LockGuard> outcome) {
		got = std::move(outcome);
	});
	ASSERT_TRUE(waitFor([&] {
		(void)client.process();
		return got.has_value();
	}));
	ASSERT_TRUE(*got) << got->error().message;
	EXPECT_FALSE(otherLock->tryAcquire().value_or(std::nullopt).has_value());

	// Held on the page: the other connection's wait goes through ipchubd.
	std::optional<Result<LockGuard>> waited;
	auto queued =
		otherLock->acquireAsync(LockMode::Exclusive, 5s, [&](Result<LockGuard> outcome) {
			waited = std::move(outcome);
		});
	std::this_thread::sleep_for(50ms);
	(void)other.process();
	EXPECT_FALSE(waited.has_value());
	ASSERT_TRUE((*got)->release());
	ASSERT_TRUE(waitFor([&] {
		(void)other.process();
		return waited.has_value();
	}));
	ASSERT_TRUE(*waited) << waited->error().message;
	EXPECT_EQ(lock->mode().value_or(LockState::Unlocked), LockState::Exclusive);
	ASSERT_TRUE((*waited)->release());
	EXPECT_EQ(lock->mode().value_or(LockState::Exclusive), LockState::Unlocked);

	auto sem = client.createSemaphore("fast-async", 1, {.fast = true});
	ASSERT_TRUE(sem);
	auto otherSem = other.openSemaphore("fast-async");
	ASSERT_TRUE(otherSem);
	ASSERT_TRUE(sem->acquire(1, 0ms));
	std::optional<Result<void>> unit;
	auto unitWait =
		otherSem->acquireAsync(1, 5s, [&](Result<void> outcome) { unit = outcome; });
	std::this_thread::sleep_for(50ms);
	(void)other.process();
	EXPECT_FALSE(unit.has_value());
	ASSERT_TRUE(sem->release(1));
	ASSERT_TRUE(waitFor([&] {
		(void)other.process();
		return unit.has_value();
	}));
	ASSERT_TRUE(*unit) << unit->error().message;
	EXPECT_EQ(sem->value().value_or(1), 0u);
	// The unit ipchubd holds for the connection goes back through the bus.
	ASSERT_TRUE(otherSem->release(1));
	EXPECT_EQ(sem->value().value_or(0), 1u);
}

TEST_F(FastClientTest, AnAppOutsideTheScopeAndPlainObjectsUseTheBusPath)
{
	auto client = connect();
	auto plain = client.createLock("plain-lock");
	ASSERT_TRUE(plain);
	auto guard = plain->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(guard);
	EXPECT_FALSE(guard->previousOwnerDied());
	// The bus path records the grant: Holders names it.
	EXPECT_EQ(plain->holders().value_or(std::vector<LockHolder>{}).size(), 1u);
	ASSERT_TRUE(guard->release());
	auto opened = client.openLock("plain-lock");
	ASSERT_TRUE(opened) << opened.error().message;
}

// A restart of ipchubd (under a stand-in service manager, so that persistent objects
// come back): what was held on the old page is lost, and the library attaches the new
// page at its next call.
class FastRestartTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		stopDaemon();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); }));
	}

	void restart()
	{
		daemon_.kill();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
	}

	FdStoreManager manager_;
	Child daemon_;
};

TEST_F(FastRestartTest, HoldsAreLostAndTheNewPageIsAttached)
{
	auto client = connect();
	auto lock = client.createLock("fast-restart", {.persistent = true, .fast = true});
	ASSERT_TRUE(lock) << lock.error().message;
	auto sem = client.createSemaphore("fast-restart", 2, {.persistent = true, .fast = true});
	ASSERT_TRUE(sem) << sem.error().message;
	auto guard = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(guard);
	auto unit = sem->acquireGuard(1, 1s);
	ASSERT_TRUE(unit);
	// A waiter on the old page: it must notice the restart and move to the new one.
	std::optional<Result<LockGuard>> waited;
	std::thread waiter([&] { waited = lock->acquire(LockMode::Exclusive, 10s); });
	std::this_thread::sleep_for(100ms);

	restart();
	// The library learns of the restart as it reads its connection (the waiter looks
	// every 50 ms; Client::process, or any call, reads it too).
	ASSERT_TRUE(client.process());
	auto lost = guard->release();
	auto lostUnit = unit->release();
	waiter.join();
	ASSERT_FALSE(lost);
	EXPECT_EQ(lost.error().code, ErrorCode::NotHeld);
	ASSERT_FALSE(lostUnit);
	EXPECT_EQ(lostUnit.error().code, ErrorCode::NotHeld);
	ASSERT_TRUE(waited && *waited) << (waited ? waited->error().message : "no outcome");
	// ipchubd sees the waiter's grant (on the new page, or through the bus if the lock
	// came back as a plain one).
	EXPECT_EQ(lock->mode().value_or(LockState::Unlocked), LockState::Exclusive);
	ASSERT_TRUE((*waited)->release());
	EXPECT_EQ(lock->mode().value_or(LockState::Exclusive), LockState::Unlocked);
	auto both = sem->acquireGuard(2, 1s);
	ASSERT_TRUE(both) << both.error().message;
	EXPECT_EQ(sem->value().value_or(1), 0u);
	ASSERT_TRUE(both->release());
	EXPECT_EQ(sem->value().value_or(0), 2u);
}

} // namespace
} // namespace ipchub::test
