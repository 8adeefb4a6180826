// SPDX-License-Identifier: LGPL-2.1-or-later
// Crash safety through the real ipchubd: whatever a killed client held or queued comes
// back at once, and its references go.

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SemaphoreCrashTest = IpchubTest;

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";

// A child that opens "jobs" and acquires units (kForever), writes a byte to ready once
// it holds them, and stays until killed.
Child holder(const std::string &address, uint32_t units, int ready)
{
	return forkChild([=] {
		auto client = Client::connect(address);
		auto semaphore = client->openSemaphore("jobs");
		if (!semaphore || !semaphore->acquire(units, kForever))
			return 1;
		char c = 'x';
		(void)!write(ready, &c, 1);
		pause();
		return 0;
	});
}

// Whether path is a live object of ipchubd, asked without taking a reference.
bool exists(RawConnection &raw, const std::string &path)
{
	try {
		raw.property(path, kSemaphoreInterface, "Key");
		return true;
	} catch (const sdbus::Error &) {
		return false;
	}
}

TEST_F(SemaphoreCrashTest, KilledHoldersGiveBackExactlyTheirUnits)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 5);
	ASSERT_TRUE(semaphore);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child one = holder(address(), 1, ready[1]);
	Child two = holder(address(), 2, ready[1]);
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_EQ(semaphore->value().value(), 2u);
	ASSERT_EQ(semaphore->holders().value().size(), 2u);

	two.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return semaphore->value().value_or(0) == 4; }));
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].units, 1u);
	one.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return semaphore->value().value_or(0) == 5; }));
	EXPECT_TRUE(semaphore->holders().value().empty());
}

TEST_F(SemaphoreCrashTest, KilledHoldersUnitsServeTheNextWaiter)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child child = holder(address(), 2, ready[1]);
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	RawConnection raw(address());
	auto wait = raw.acquireAsync(semaphore->path(), 2, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	child.kill(SIGKILL);
	ASSERT_TRUE(raw.waitFor([&] { return wait->done; }));
	EXPECT_EQ(wait->error, "") << wait->message;
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].uniqueName, raw.uniqueName());
}

TEST_F(SemaphoreCrashTest, KilledWaiterLeavesTheQueueAndTheNextIsServed)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore);
	// The killed waiter is at the head and wants two: it holds back the one behind.
	Child waiter = holder(address(), 2, -1);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	RawConnection raw(address());
	auto behind = raw.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 2; }));
	raw.pump();
	EXPECT_FALSE(behind->done);

	waiter.kill(SIGKILL);
	ASSERT_TRUE(raw.waitFor([&] { return behind->done; }));
	EXPECT_EQ(behind->error, "") << behind->message;
	EXPECT_EQ(semaphore->waiters().value(), 0u);
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreCrashTest, KilledWaiterIsNotServedByALaterRelease)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	Child waiter = holder(address(), 1, -1);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	RawConnection raw(address());
	auto behind = raw.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 2; }));
	waiter.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));

	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(raw.waitFor([&] { return behind->done; }));
	EXPECT_EQ(behind->error, "") << behind->message;
	auto holders = semaphore->holders().value();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].uniqueName, raw.uniqueName());
	EXPECT_EQ(semaphore->value().value(), 0u);
}

TEST_F(SemaphoreCrashTest, KilledClientsReferencesGo)
{
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child creator = forkChild([&] {
		auto client = Client::connect(address());
		auto solo = client->createSemaphore("solo", 1);
		auto kept = client->createSemaphore("kept", 2, {.persistent = true});
		if (!solo || !kept || !kept->acquire(1, 0us))
			return 1;
		char c = 'x';
		(void)!write(ready[1], &c, 1);
		pause();
		return 0;
	});
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	RawConnection raw(address());
	const std::string solo = "/io/github/ipchub1/semaphore/solo";
	const std::string kept = "/io/github/ipchub1/semaphore/kept";
	ASSERT_TRUE(exists(raw, solo));
	ASSERT_TRUE(exists(raw, kept));

	creator.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return !exists(raw, solo); }));
	auto client = connect();
	auto opened = client.openSemaphore("solo");
	ASSERT_FALSE(opened);
	EXPECT_EQ(opened.error().code, ErrorCode::NotFound);
	// The persistent one stays, with the killed creator's unit back.
	auto persistent = client.openSemaphore("kept");
	ASSERT_TRUE(persistent) << persistent.error().message;
	EXPECT_EQ(persistent->value().value(), 2u);
}

TEST_F(SemaphoreCrashTest, KilledOpenerLeavesTheCreatorsReference)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child opener = holder(address(), 1, ready[1]);
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	opener.kill(SIGKILL);
	ASSERT_TRUE(waitFor([&] { return semaphore->value().value_or(0) == 2; }));
	EXPECT_TRUE(connect().openSemaphore("jobs"));
}

} // namespace
} // namespace ipchub::test
