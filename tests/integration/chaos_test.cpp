// SPDX-License-Identifier: LGPL-2.1-or-later
// Chaos: client processes loop over a lock and semaphore units while the test kills
// them, or kills ipchubd itself and restarts it from the fd store. Workers check
// mutual exclusion with fencing tokens and count the semaphore's holders in shared
// memory; every breach is a violation.

#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "bus_fixture.hpp"
#include "fd_store_manager.hpp"

namespace ipchub::test {
namespace {

constexpr int kWorkers = 4;
constexpr uint32_t kUnits = 2;
constexpr auto kDuration = 15s;

// The workers' shared log, in a persistent shared-memory object.
struct ChaosLog {
	// The token of the latest lock holder, written on entry.
	std::atomic<uint64_t> entryToken;
	// Two workers inside the lock at once, or a token that did not grow.
	std::atomic<uint64_t> lockViolations;
	// More live workers holding units than the semaphore has.
	std::atomic<uint64_t> unitViolations;
	std::atomic<uint64_t> rounds;
	std::atomic<uint32_t> stop;
	// The pid of each worker while it holds a unit, else 0.
	std::atomic<int32_t> unitHolder[kWorkers];
};

ChaosLog &logIn(SharedMemory &sharedMemory)
{
	return *reinterpret_cast<ChaosLog *>(sharedMemory.data().data());
}

// Whether pid can still hold a unit. A process that is exiting holds nothing: its
// descriptors, its bus connection among them, close before it becomes a zombie, and
// ipchubd may have given its unit to another worker while /proc still shows it
// running; the kernel marks it PF_EXITING (flags, field 9 of /proc/PID/stat) first.
bool alive(pid_t pid)
{
	constexpr unsigned long kPfExiting = 0x4;
	std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
	std::string text((std::istreambuf_iterator<char>(stat)), {});
	const auto paren = text.rfind(')');
	if (paren == std::string::npos)
		return false;
	// After the command's ')': state, ppid, pgrp, session, tty_nr, tpgid, flags.
	std::istringstream fields(text.substr(paren + 1));
	char state = 0;
	long skipped = 0;
	unsigned long flags = 0;
	fields >> state >> skipped >> skipped >> skipped >> skipped >> skipped >> flags;
	return fields && state != 'Z' && state != 'X' && (flags & kPfExiting) == 0;
}

int worker(int index)
{
	auto client = Client::connect();
	if (!client)
		return 2;
	auto sharedMemory = client->openSharedMemory("chaos-log", Access::ReadWrite);
	auto lock = client->openLock("chaos-lock");
	auto units = client->openSemaphore("chaos-units");
	if (!sharedMemory || !lock || !units)
		return 3;
	ChaosLog &log = logIn(*sharedMemory);
	std::minstd_rand random(static_cast<unsigned>(getpid()));
	uint64_t lastToken = 0;
	while (!log.stop) {
		if (auto guard = lock->acquire(LockMode::Exclusive, 2s)) {
			const uint64_t token = guard->token();
			const uint64_t previous = log.entryToken.exchange(token);
			// Tokens grow with every grant, across restarts of ipchubd too.
			if (token <= previous || token <= lastToken)
				++log.lockViolations;
			lastToken = token;
			std::this_thread::sleep_for(
				std::chrono::microseconds(100 + random() % 400));
			// Nobody else entered during this turn.
			if (log.entryToken.load() != token)
				++log.lockViolations;
			(void)guard->release();
			++log.rounds;
		}
		if (units->acquire(1, 2s)) {
			log.unitHolder[index] = getpid();
			int holding = 0;
			for (auto &holder : log.unitHolder)
				holding += holder.load() != 0;
			if (holding > static_cast<int>(kUnits)) {
				// Recount without workers that died holding a unit.
				holding = 0;
				for (auto &holder : log.unitHolder) {
					const pid_t pid = holder.load();
					holding += pid != 0 && alive(pid);
				}
				if (holding > static_cast<int>(kUnits))
					++log.unitViolations;
			}
			std::this_thread::sleep_for(
				std::chrono::microseconds(100 + random() % 400));
			log.unitHolder[index] = 0;
			(void)units->release(1);
			++log.rounds;
		}
	}
	return 0;
}

class ChaosTest : public IpchubTest
{
protected:
	void createObjects(Client &client)
	{
		auto sharedMemory =
			client.createSharedMemory("chaos-log", 4096, {.persistent = true});
		ASSERT_TRUE(sharedMemory) << sharedMemory.error().message;
		sharedMemory_.emplace(std::move(*sharedMemory));
		auto lock = client.createLock("chaos-lock", {.persistent = true});
		ASSERT_TRUE(lock) << lock.error().message;
		lock_.emplace(std::move(*lock));
		auto units = client.createSemaphore("chaos-units", kUnits,
						    {.max = kUnits, .persistent = true});
		ASSERT_TRUE(units) << units.error().message;
		units_.emplace(std::move(*units));
	}

	void startWorker(int index)
	{
		workers_[index] = forkChild([index] { return worker(index); });
	}

	// Stops the workers and checks that everything came back.
	void finish(const char *name, int kills)
	{
		ChaosLog &log = logIn(*sharedMemory_);
		log.stop = 1;
		for (auto &child : workers_)
			if (child.wait(10s) == -1)
				child.kill();
		EXPECT_TRUE(waitFor([&] {
			return units_->value().value_or(0) == kUnits &&
			       units_->waiters().value_or(1) == 0 &&
			       lock_->mode().value_or(LockState::Exclusive) ==
				       LockState::Unlocked &&
			       lock_->waiters().value_or(1) == 0;
		}))
			<< "value " << units_->value().value_or(99) << ", waiters "
			<< units_->waiters().value_or(99);
		std::printf("%s: rounds=%llu kills=%d violations=%llu (lock %llu, units %llu)\n",
			    name, static_cast<unsigned long long>(log.rounds.load()), kills,
			    static_cast<unsigned long long>(log.lockViolations +
							    log.unitViolations),
			    static_cast<unsigned long long>(log.lockViolations.load()),
			    static_cast<unsigned long long>(log.unitViolations.load()));
		EXPECT_GT(log.rounds.load(), 100u) << "the workers did hardly anything";
		EXPECT_EQ(log.lockViolations.load(), 0u);
		EXPECT_EQ(log.unitViolations.load(), 0u);
	}

	// Kills and reaps worker index; the unit slot it may have left is cleared, so
	// that a process given its pid later is not counted as holding a unit.
	void killWorker(int index)
	{
		const pid_t pid = workers_[index].pid();
		workers_[index].kill();
		pid_t held = pid;
		logIn(*sharedMemory_).unitHolder[index].compare_exchange_strong(held, 0);
	}

	std::optional<SharedMemory> sharedMemory_;
	std::optional<Lock> lock_;
	std::optional<Semaphore> units_;
	Child workers_[kWorkers];
};

TEST_F(ChaosTest, ClientsKilledAtRandomLoseOnlyWhatTheyHeld)
{
	auto client = connect();
	createObjects(client);
	for (int i = 0; i < kWorkers; ++i)
		startWorker(i);
	std::minstd_rand random(1);
	int kills = 0;
	const auto end = std::chrono::steady_clock::now() + kDuration;
	while (std::chrono::steady_clock::now() < end) {
		std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 300));
		const int victim = static_cast<int>(random() % kWorkers);
		killWorker(victim);
		++kills;
		startWorker(victim);
	}
	finish("chaos-clients", kills);
}

TEST_F(ChaosTest, IpchubdKilledUnderLoadComesBackFromTheFdStore)
{
	FdStoreManager manager;
	stopDaemon();
	ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
	Child daemon = manager.startDaemon();
	ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd with NOTIFY_SOCKET";

	auto client = connect();
	createObjects(client);
	// State the workers do not touch: checked byte for byte and unit for unit.
	auto data = client.createSharedMemory("chaos-data", 1 << 16, {.persistent = true});
	ASSERT_TRUE(data);
	for (size_t i = 0; i < data->data().size(); ++i)
		data->data()[i] = std::byte(i * 7 + 3);
	auto kept = client.createSemaphore("chaos-kept", 5, {.max = 9, .persistent = true});
	ASSERT_TRUE(kept);
	ASSERT_TRUE(kept->acquire(2, 0us));
	for (int i = 0; i < kWorkers; ++i)
		startWorker(i);

	std::minstd_rand random(2);
	int kills = 0;
	const auto end = std::chrono::steady_clock::now() + kDuration;
	while (std::chrono::steady_clock::now() < end) {
		std::this_thread::sleep_for(std::chrono::milliseconds(1500 + random() % 1500));
		const uint64_t before = lock_->token().value_or(0);
		daemon.kill();
		daemon.wait();
		++kills;
		daemon = manager.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
		// The library sends calls again while the name has no owner, and the objects
		// are where they were.
		auto token = lock_->token();
		ASSERT_TRUE(token) << token.error().message;
		EXPECT_GE(*token, before);
		EXPECT_EQ(kept->value().value_or(0), 3u);
		auto holders = kept->holders();
		ASSERT_TRUE(holders);
		ASSERT_EQ(holders->size(), 1u);
		EXPECT_EQ(holders->front().uniqueName, client.uniqueName());
		EXPECT_EQ(holders->front().units, 2u);
		auto view = client.openSharedMemory("chaos-data", Access::ReadOnly);
		ASSERT_TRUE(view) << view.error().message;
		size_t wrong = 0;
		for (size_t i = 0; i < view->data().size(); ++i)
			wrong += view->data()[i] != std::byte(i * 7 + 3);
		EXPECT_EQ(wrong, 0u) << "bytes of chaos-data changed across the restart";
	}
	const uint64_t lastToken = lock_->token().value_or(0);
	finish("chaos-daemon", kills);
	EXPECT_GT(lock_->token().value_or(0), 0u);
	EXPECT_GE(lock_->token().value_or(0), lastToken);
	EXPECT_GT(manager.stored(), 0);
}

} // namespace
} // namespace ipchub::test
