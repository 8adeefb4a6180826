// SPDX-License-Identifier: LGPL-2.1-or-later
#include "lock_fixture.hpp"

#include <csignal>
#include <map>

#include <sdbus-c++/sdbus-c++.h>

namespace ipchub::test {
namespace {

TEST_F(LockTest, ClosingEveryCopyOfTheHandleReleasesTheLock)
{
	auto clientB = connect();
	auto lockB = openLock(clientB);
	auto handle = lock_->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(handle) << handle.error().message;
	ASSERT_GE(handle->fd(), 0);
	EXPECT_EQ(state(), LockState::Exclusive);
	EXPECT_FALSE(lockB.tryAcquire(LockMode::Shared).value());

	const int copy = dup(handle->fd());
	handle->close();
	// The copy keeps the pipe open: the kernel reports no hang-up, so no release.
	EXPECT_EQ(state(), LockState::Exclusive);
	close(copy);
	EXPECT_TRUE(waitFor([&] { return state() == LockState::Unlocked; }));
	// The holder never left the bus.
	EXPECT_TRUE(lock_->tryAcquire(LockMode::Exclusive).value());
}

TEST_F(LockTest, ReleaseEndsPlainGrantsBeforeHandles)
{
	auto handle = lock_->acquireHandle(LockMode::Shared, 1s);
	ASSERT_TRUE(handle);
	auto guard = lock_->acquire(LockMode::Shared, 1s);
	ASSERT_TRUE(guard);
	ASSERT_TRUE(guard->release());
	auto holders = lock_->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].token, handle->token());
	handle->close();
	EXPECT_TRUE(waitFor([&] { return state() == LockState::Unlocked; }));
}

TEST_F(LockTest, AHandleHeldByAChildProcessKeepsTheLock)
{
	auto handle = lock_->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(handle);
	Signal ready;
	// The child has no bus connection of its own: only its copy of the handle.
	Child child = forkChild([&] {
		ready.raise();
		pause();
		return 0;
	});
	ASSERT_TRUE(ready.wait());
	handle->close();
	EXPECT_EQ(state(), LockState::Exclusive);
	child.kill(SIGKILL);
	EXPECT_TRUE(waitFor([&] { return state() == LockState::Unlocked; }));
}

TEST_F(LockTest, AKilledHolderReleasesToTheWaiterAndHoldersShowItsPid)
{
	Signal ready;
	const auto before = std::chrono::system_clock::now();
	Child holder = forkChild([&] {
		auto client = Client::connect(address());
		if (!client)
			return 3;
		auto lock = client->openLock("db");
		if (!lock)
			return 1;
		auto guard = lock->acquire(LockMode::Exclusive, 1s);
		if (!guard)
			return 2;
		ready.raise();
		pause();
		return 0;
	});
	ASSERT_TRUE(ready.wait());
	const auto after = std::chrono::system_clock::now();
	auto holders = lock_->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].pid, holder.pid());
	EXPECT_EQ(holders[0].mode, LockMode::Exclusive);
	EXPECT_EQ(holders[0].appId, "");
	EXPECT_EQ(holders[0].token, 1u);
	EXPECT_NE(holders[0].uniqueName, client_->uniqueName());
	EXPECT_GE(holders[0].acquiredAt, std::chrono::floor<std::chrono::microseconds>(before));
	EXPECT_LE(holders[0].acquiredAt, after);

	Contender waiter(address(), LockMode::Exclusive);
	ASSERT_TRUE(waitersAre(1));
	holder.kill(SIGKILL);
	auto token = waiter.result();
	ASSERT_TRUE(token) << token.error().message;
	EXPECT_EQ(*token, 2u);
	holders = lock_->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].pid, getpid());
}

TEST_F(LockTest, AWaiterThatLeavesTheBusLosesItsPlace)
{
	auto writer = lock_->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);
	Child waiter = forkChild([&] {
		auto client = Client::connect(address());
		if (!client)
			return 3;
		auto lock = client->openLock("db");
		return lock && lock->acquire(LockMode::Exclusive, 60s) ? 0 : 1;
	});
	ASSERT_TRUE(waitersAre(1));
	waiter.kill(SIGKILL);
	EXPECT_TRUE(waitersAre(0));
	ASSERT_TRUE(writer->release());
	EXPECT_EQ(state(), LockState::Unlocked);
}

TEST_F(LockTest, ChangesAreSignalled)
{
	auto bus = sdbus::createSessionBusConnectionWithAddress(address());
	std::mutex mutex;
	std::vector<std::string> modes;
	std::vector<uint64_t> tokens;
	auto match = bus->addMatch(
		std::string("type='signal',sender='io.github.ipchub1',path='") + kPath +
			"',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
		[&](sdbus::Message &message) {
			std::string interface;
			std::map<std::string, sdbus::Variant> changed;
			message >> interface >> changed;
			std::lock_guard lock(mutex);
			if (changed.contains("Mode"))
				modes.push_back(changed["Mode"].get<std::string>());
			if (changed.contains("Token"))
				tokens.push_back(changed["Token"].get<uint64_t>());
		});
	// ipchubd signals only to the connections that called GetManagedObjects (see
	// RawConnection::introduce).
	sdbus::createProxy(*bus, "io.github.ipchub1", "/io/github/ipchub1")
		->callMethod("GetManagedObjects")
		.onInterface("org.freedesktop.DBus.ObjectManager");
	bus->enterEventLoopAsync();
	auto seen = [&](const std::vector<std::string> &expected) {
		return waitFor([&] {
			std::lock_guard lock(mutex);
			return modes == expected;
		});
	};

	auto writer = lock_->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);
	EXPECT_TRUE(seen({"exclusive"}));
	ASSERT_TRUE(writer->release());
	EXPECT_TRUE(seen({"exclusive", "unlocked"}));
	auto reader = lock_->acquire(LockMode::Shared, 0us);
	ASSERT_TRUE(reader);
	EXPECT_TRUE(seen({"exclusive", "unlocked", "shared"}));
	{
		std::lock_guard lock(mutex);
		EXPECT_EQ(tokens, (std::vector<uint64_t>{1, 1, 2}));
	}
	bus->leaveEventLoop();
}

} // namespace
} // namespace ipchub::test
