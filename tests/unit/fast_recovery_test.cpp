// SPDX-License-Identifier: LGPL-2.1-or-later
// What ipchubd's recovery does to a page, and the fast words shared by processes: forked
// children map the page as the library does, are killed, and the test stands in for
// ipchubd (it learns of each death by waitpid and recovers the dead owner id).

#include <atomic>
#include <climits>
#include <csignal>
#include <random>

#include <gtest/gtest.h>

#include "fast_test_support.hpp"
#include "lock.hpp"
#include "recovery.hpp"
#include "semaphore.hpp"

namespace ipchub::fast {
namespace {

using namespace std::chrono_literals;
using test::ServicePage;

constexpr uint32_t kA = makeToken(5, 1);
constexpr uint32_t kB = makeToken(6, 1);

struct Record {
	std::atomic<int> state{0};
	std::atomic<int> result{-1};
	std::atomic<int64_t> counter{0};
	int64_t plain = 0;
	std::atomic<int> inside{0};
	std::atomic<int> violations{0};
};

TEST(FastRecovery, ALockWordOfTheDeadOwnerBecomesDiedKeepingWaiters)
{
	ServicePage page(pageSize(LockShape{2}));
	LockView view(page.mapping.address(), LockShape{2});
	view.word() = kA | kWaiters;
	EXPECT_EQ(recoverLock(view, 6).locks, 0u);
	EXPECT_EQ(recoverLock(view, 0).locks, 0u);
	EXPECT_EQ(recoverLock(view, kOwnerLimit + 5).locks, 0u);
	EXPECT_EQ(view.word().load(), kA | kWaiters);
	EXPECT_EQ(recoverLock(view, 5).locks, 1u);
	EXPECT_EQ(view.word().load(), kDied | kWaiters);
}

TEST(FastRecovery, WaiterCountsOfTheDeadAttachSlotLeaveNwaitClamped)
{
	ServicePage page(pageSize(SemaphoreShape{2, 4}));
	SemaphoreView view(page.mapping.address(), SemaphoreShape{2, 4});
	view.unit(0) = kA;
	view.unit(1) = kB;
	view.nwait() = 1;
	view.waiters(2) = 3;
	const uint32_t seq = view.seq().load();
	const Recovered done = recoverSemaphore(view, 5, 2);
	EXPECT_EQ(done.units, 1u);
	EXPECT_EQ(done.waiters, 1u);
	EXPECT_EQ(view.nwait().load(), 0u);
	EXPECT_EQ(view.waiters(2).load(), 0u);
	EXPECT_EQ(view.unit(0).load(), kDied);
	EXPECT_EQ(view.unit(1).load(), kB);
	EXPECT_NE(view.seq().load(), seq);
	// An attach slot ipchubd never gave leaves the counts alone.
	view.nwait() = 2;
	view.waiters(3) = 2;
	recoverSemaphore(view, 6, 4);
	EXPECT_EQ(view.nwait().load(), 2u);
	EXPECT_EQ(view.unit(1).load(), kDied);
}

TEST(FastRecovery, ProcessesExcludeEachOther)
{
	const LockShape lockShape{4};
	const SemaphoreShape semShape{2, 4};
	ServicePage lockPage(pageSize(lockShape));
	ServicePage semPage(pageSize(semShape));
	test::SharedRecord<Record> record;
	std::vector<pid_t> children;
	for (uint32_t p = 0; p < 4; ++p)
		children.push_back(test::forkChild([&, p] {
			Mapping lockMap = lockPage.mapAsClient();
			Mapping semMap = semPage.mapAsClient();
			LockView lock(lockMap.address(), lockShape);
			SemaphoreView sem(semMap.address(), semShape);
			const uint32_t token = makeToken(10 + p, 0);
			Holder holder{token, p};
			for (int i = 0; i < 3000; ++i) {
				if (!fast::lock(lock, token, Deadline::after(10s)))
					return 1;
				record->plain = record->plain + 1;
				if (!unlock(lock, token))
					return 2;
				auto unit = acquire(sem, holder, Deadline::after(10s));
				if (!unit)
					return 3;
				if (record->inside.fetch_add(1) >= 2)
					record->violations++;
				record->inside.fetch_sub(1);
				if (!release(sem, unit->index, token))
					return 4;
			}
			return 0;
		}));
	for (pid_t child : children)
		EXPECT_EQ(test::reap(child, 60s), 0);
	EXPECT_EQ(record->plain, 4 * 3000);
	EXPECT_EQ(record->violations, 0);
	LockView lock(lockPage.mapping.address(), lockShape);
	SemaphoreView sem(semPage.mapping.address(), semShape);
	EXPECT_EQ(lock.word().load(), 0u);
	EXPECT_EQ(freeUnits(sem), 2u);
	EXPECT_EQ(sem.nwait().load(), 0u);
}

TEST(FastRecovery, AKilledHolderIsTakenBackAndTheWaiterToldOwnerDied)
{
	const LockShape shape{2};
	ServicePage page(pageSize(shape));
	test::SharedRecord<Record> record;
	const pid_t holder = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		if (!lock(LockView(map.address(), shape), kA, Deadline::never()))
			return 1;
		record->state = 1;
		pause();
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return record->state == 1; }));
	const pid_t waiter = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		auto locked = lock(LockView(map.address(), shape), kB, Deadline::after(20s));
		record->result = !locked ? 0 : *locked == Acquired::OwnerDied ? 2 : 1;
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return test::sleepsInFutex(waiter); }));
	kill(holder, SIGKILL);
	EXPECT_EQ(test::reap(holder), 128 + SIGKILL);
	// Dead, and nothing gives the lock back but ipchubd.
	std::this_thread::sleep_for(100ms);
	EXPECT_EQ(record->result, -1);
	const Recovered done = recoverLock(LockView(page.mapping.address(), shape), 5);
	EXPECT_EQ(done.locks, 1u);
	EXPECT_EQ(test::reap(waiter), 0);
	EXPECT_EQ(record->result, 2);
}

// The fault of a waiter woken by the last release and killed before it retries: only
// the wake-all of recovery gets the other sleeper going.
TEST(FastRecovery, AWokenLockWaiterKilledBeforeRetryingStrandsNobody)
{
	const LockShape shape{2};
	ServicePage page(pageSize(shape));
	LockView view(page.mapping.address(), shape);
	test::SharedRecord<Record> record;
	ASSERT_TRUE(lock(view, kA, Deadline::never()));
	// A waiter as the library's, which dies as soon as it wakes.
	const pid_t doomed = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		Word &word = LockView(map.address(), shape).word();
		uint32_t w = word.load();
		while (!(w & kWaiters) && !word.compare_exchange_weak(w, w | kWaiters))
			;
		futexWait(word, w | kWaiters, Deadline::never());
		raise(SIGKILL);
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return test::sleepsInFutex(doomed); }));
	const pid_t waiter = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		auto locked = lock(LockView(map.address(), shape), kB, Deadline::after(20s));
		record->result = locked ? 1 : 0;
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return test::sleepsInFutex(waiter); }));
	// Futex waiters of one priority wake in order: the doomed one gets the wake-up.
	ASSERT_TRUE(unlock(view, kA));
	EXPECT_EQ(test::reap(doomed), 128 + SIGKILL);
	std::this_thread::sleep_for(150ms);
	EXPECT_EQ(record->result, -1) << "the other waiter was woken without recovery";
	EXPECT_EQ(view.word().load(), 0u);
	recoverLock(view, 7);
	EXPECT_EQ(test::reap(waiter), 0);
	EXPECT_EQ(record->result, 1);
}

TEST(FastRecovery, AWokenSemaphoreWaiterKilledBeforeRetryingStrandsNobody)
{
	const SemaphoreShape shape{1, 4};
	ServicePage page(pageSize(shape));
	SemaphoreView view(page.mapping.address(), shape);
	test::SharedRecord<Record> record;
	Holder me{kA, 0};
	auto held = acquire(view, me, Deadline::none());
	ASSERT_TRUE(held);
	const pid_t doomed = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		SemaphoreView sem(map.address(), shape);
		sem.nwait().fetch_add(1);
		sem.waiters(1).fetch_add(1);
		futexWait(sem.seq(), sem.seq().load(), Deadline::never());
		raise(SIGKILL);
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return test::sleepsInFutex(doomed); }));
	const pid_t waiter = test::forkChild([&] {
		Mapping map = page.mapAsClient();
		SemaphoreView sem(map.address(), shape);
		Holder holder{kB, 2};
		auto unit = acquire(sem, holder, Deadline::after(20s));
		record->result = unit ? 1 : 0;
		if (unit && !release(sem, unit->index, kB))
			return 1;
		return 0;
	});
	ASSERT_TRUE(test::waitFor([&] { return test::sleepsInFutex(waiter); }));
	EXPECT_EQ(view.nwait().load(), 2u);
	ASSERT_TRUE(release(view, held->index, kA));
	EXPECT_EQ(test::reap(doomed), 128 + SIGKILL);
	std::this_thread::sleep_for(150ms);
	EXPECT_EQ(record->result, -1) << "the other waiter was woken without recovery";
	EXPECT_EQ(view.nwait().load(), 2u);
	const Recovered done = recoverSemaphore(view, 7, 1);
	EXPECT_EQ(done.waiters, 1u);
	EXPECT_EQ(test::reap(waiter), 0);
	EXPECT_EQ(record->result, 1);
	EXPECT_EQ(view.nwait().load(), 0u);
	EXPECT_EQ(freeUnits(view), 1u);
}

// Random bytes over the pages: recovery and every operation stay bounded and do not
// crash (in a child, so that a crash or a hang is seen as such).
TEST(FastRecovery, ScribbledPagesKeepRecoveryAndOperationsBounded)
{
	const LockShape lockShape{64};
	const SemaphoreShape semShape{100, 64};
	ServicePage lockPage(pageSize(lockShape));
	ServicePage semPage(pageSize(semShape));
	const pid_t child = test::forkChild([&] {
		alarm(60);
		std::mt19937 random(12345);
		LockView lock(lockPage.mapping.address(), lockShape);
		SemaphoreView sem(semPage.mapping.address(), semShape);
		auto scribble = [&](const Mapping &map) {
			auto *bytes = static_cast<uint8_t *>(map.address());
			for (size_t i = 0; i < map.size(); ++i)
				bytes[i] = static_cast<uint8_t>(random());
		};
		for (int round = 0; round < 300; ++round) {
			scribble(lockPage.mapping);
			scribble(semPage.mapping);
			const uint32_t owner = random() % (kOwnerLimit + 10);
			recoverLock(lock, owner);
			recoverSemaphore(sem, owner, random() % 80);
			const uint32_t token = makeToken(1 + random() % (kOwnerLimit - 1), 3);
			const Deadline soon = Deadline::after(200us);
			(void)fast::lock(lock, token, soon);
			(void)unlock(lock, token);
			(void)lockShared(lock, token, soon);
			(void)unlockShared(lock, token);
			Holder holder{token, static_cast<uint32_t>(random() % 64),
				      static_cast<uint32_t>(random())};
			auto unit = acquire(sem, holder, soon);
			(void)release(sem, unit ? unit->index : random(), token);
			recoverLock(lock, ownerOf(token));
			recoverSemaphore(sem, ownerOf(token), holder.attach);
		}
		return 0;
	});
	EXPECT_EQ(test::reap(child, 90s), 0);
}

} // namespace
} // namespace ipchub::fast
