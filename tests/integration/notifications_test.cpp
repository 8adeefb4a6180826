// SPDX-License-Identifier: LGPL-2.1-or-later
// The library's notifications through the real ipchubd: onChanged hands typed
// properties after changes made by other clients and processes, only from
// Client::process(); a cancelled subscription is silent; onDisconnected runs from
// process() when ipchubd is killed or the bus goes, and subscriptions carry on after
// a restart that brings the object back.

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <thread>

#include "bus_fixture.hpp"
#include "fd_store_manager.hpp"
#include "lock_fixture.hpp"

namespace ipchub::test {
namespace {

using Clock = std::chrono::steady_clock;

// An application's event loop: polls the Client's fd, wakes for its next timeout and
// calls process(), until done() holds or timeout passes. Whether done() held.
bool runLoop(Client &client, const std::function<bool()> &done,
	     std::chrono::milliseconds timeout = 5s)
{
	const int fd = client.fd();
	EXPECT_GE(fd, 0);
	const auto end = Clock::now() + timeout;
	while (!done()) {
		const auto left = end - Clock::now();
		if (left <= Clock::duration::zero())
			return false;
		auto wake = std::chrono::ceil<std::chrono::milliseconds>(left);
		if (const auto next = client.nextTimeout())
			wake = std::min(wake, std::chrono::ceil<std::chrono::milliseconds>(*next));
		pollfd readable{fd, POLLIN, 0};
		::poll(&readable, 1, static_cast<int>(wake.count()));
		(void)client.process();
	}
	return true;
}

// Writes and reads one value through a pipe, between a forked child and the test.
template <typename T>
struct Channel {
	int fds[2];
	Channel() { EXPECT_EQ(pipe(fds), 0); }
	~Channel()
	{
		close(fds[0]);
		close(fds[1]);
	}
	void send(const T &value) const { (void)!write(fds[1], &value, sizeof value); }
	std::optional<T> receive() const
	{
		T value{};
		if (read(fds[0], &value, sizeof value) != sizeof value)
			return std::nullopt;
		return value;
	}
};

// A unique name, as a child sends it through a Channel.
struct Name {
	char text[64];
};

class NotificationsTest : public IpchubTest
{
protected:
	void TearDown() override
	{
		unsetenv("IPCHUB_RESTART_WAIT_MS");
		IpchubTest::TearDown();
	}

	// The calls that a test makes after killing ipchubd give up at once.
	static void noRestartWait() { setenv("IPCHUB_RESTART_WAIT_MS", "0", 1); }
};

TEST_F(NotificationsTest, AValueChangeByAnotherClientReachesTheTypedCallback)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 5);
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	std::vector<uint32_t> values;
	auto subscription = semaphore->onChanged(
		[&](const SemaphoreProperties &properties) { values.push_back(properties.value); });
	ASSERT_TRUE(subscription) << subscription.error().message;
	// First the state as it was when the subscription began.
	ASSERT_TRUE(runLoop(client, [&] { return !values.empty(); }));
	EXPECT_EQ(values.front(), 5u);

	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(opened->acquire(3, 1s));
	EXPECT_TRUE(runLoop(client, [&] { return values.back() == 2u; }))
		<< "last value seen: " << values.back();
	ASSERT_TRUE(opened->release(1));
	EXPECT_TRUE(runLoop(client, [&] { return values.back() == 3u; }))
		<< "last value seen: " << values.back();
}

TEST_F(NotificationsTest, HoldersTellTheUnitsAnotherProcessAcquired)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 4);
	ASSERT_TRUE(semaphore);
	std::optional<SemaphoreProperties> seen;
	auto subscription = semaphore->onChanged(
		[&](const SemaphoreProperties &properties) { seen = properties; });
	ASSERT_TRUE(subscription);
	ASSERT_TRUE(runLoop(client, [&] { return seen.has_value(); }));
	EXPECT_TRUE(seen->holders.empty());

	// The child says its unique name once it holds its units.
	Channel<Name> named;
	Child child = forkChild([&] {
		auto own = Client::connect(address());
		if (!own)
			return 3;
		auto opened = own->openSemaphore("jobs");
		if (!opened || !opened->acquire(3, 1s))
			return 1;
		Name name{};
		own->uniqueName().copy(name.text, sizeof name.text - 1);
		named.send(name);
		pause();
		return 0;
	});
	auto name = named.receive();
	ASSERT_TRUE(name);
	ASSERT_TRUE(runLoop(client, [&] { return !seen->holders.empty(); }));
	ASSERT_EQ(seen->holders.size(), 1u);
	EXPECT_EQ(seen->holders[0].uniqueName, std::string(name->text));
	EXPECT_EQ(seen->holders[0].units, 3u);
	EXPECT_EQ(seen->value, 1u);
	// Its units come back when it dies, and the callback says so.
	child.kill();
	EXPECT_TRUE(runLoop(client, [&] { return seen->holders.empty() && seen->value == 4u; }));
}

TEST_F(NotificationsTest, ALocksModeHoldersAndTokenFollowAnotherProcesssGrant)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	std::optional<LockProperties> seen;
	auto subscription =
		lock->onChanged([&](const LockProperties &properties) { seen = properties; });
	ASSERT_TRUE(subscription);
	ASSERT_TRUE(runLoop(client, [&] { return seen.has_value(); }));
	EXPECT_EQ(seen->mode, LockState::Unlocked);
	EXPECT_EQ(seen->token, 0u);

	Channel<uint64_t> granted;
	const auto before = std::chrono::system_clock::now();
	Child child = forkChild([&] {
		auto own = Client::connect(address());
		if (!own)
			return 3;
		auto opened = own->openLock("db");
		if (!opened)
			return 1;
		auto guard = opened->acquire(LockMode::Exclusive, 1s);
		if (!guard)
			return 2;
		granted.send(guard->token());
		pause();
		return 0;
	});
	auto token = granted.receive();
	ASSERT_TRUE(token);
	ASSERT_TRUE(runLoop(client, [&] { return seen->mode == LockState::Exclusive; }));
	EXPECT_EQ(seen->token, *token);
	ASSERT_EQ(seen->holders.size(), 1u);
	EXPECT_EQ(seen->holders[0].pid, child.pid());
	EXPECT_EQ(seen->holders[0].mode, LockMode::Exclusive);
	EXPECT_EQ(seen->holders[0].token, *token);
	EXPECT_EQ(seen->holders[0].appId, "");
	EXPECT_GE(seen->holders[0].acquiredAt + 1ms, before);
	EXPECT_LE(seen->holders[0].acquiredAt, std::chrono::system_clock::now());

	// A waiter shows; the holder's death hands the lock on, with the next token.
	std::optional<LockGuard> shared;
	auto waiter = lock->acquireAsync(LockMode::Shared, 5s, [&](Result<LockGuard> result) {
		if (result)
			shared.emplace(std::move(*result));
	});
	ASSERT_TRUE(runLoop(client, [&] { return seen->waiters == 1u; }));
	child.kill();
	ASSERT_TRUE(runLoop(client, [&] { return seen->mode == LockState::Shared; }));
	ASSERT_TRUE(shared);
	EXPECT_EQ(seen->token, *token + 1);
	EXPECT_EQ(shared->token(), *token + 1);
	ASSERT_EQ(seen->holders.size(), 1u);
	EXPECT_EQ(seen->holders[0].pid, getpid());
	EXPECT_EQ(seen->waiters, 0u);
}

TEST_F(NotificationsTest, ASharedMemoryObjectsAttachmentsAndSealFollowOtherClients)
{
	auto client = connect();
	auto sharedMemory = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(sharedMemory);
	std::optional<SharedMemoryProperties> seen;
	auto subscription = sharedMemory->onChanged(
		[&](const SharedMemoryProperties &properties) { seen = properties; });
	ASSERT_TRUE(subscription);
	ASSERT_TRUE(runLoop(client, [&] { return seen.has_value(); }));
	EXPECT_EQ(seen->size, 4096u);
	EXPECT_EQ(seen->attachments, 1u);
	EXPECT_FALSE(seen->sealed);

	auto other = connect();
	auto reader = other.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(reader);
	ASSERT_TRUE(runLoop(client, [&] { return seen->attachments == 2u; }));
	auto locked = reader->lock(1s);
	ASSERT_TRUE(locked);
	ASSERT_TRUE(runLoop(client, [&] { return seen->lockHolder == other.uniqueName(); }));
	ASSERT_TRUE(sharedMemory->seal());
	EXPECT_TRUE(runLoop(client, [&] { return seen->sealed; }));
}

TEST_F(NotificationsTest, ACancelledSubscriptionIsNotCalled)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	int cancelledCalls = 0;
	std::vector<uint32_t> kept;
	std::optional<Subscription> cancelled;
	{
		auto subscribed = semaphore->onChanged(
			[&](const SemaphoreProperties &) { ++cancelledCalls; });
		ASSERT_TRUE(subscribed);
		cancelled.emplace(std::move(*subscribed));
	}
	auto control = semaphore->onChanged(
		[&](const SemaphoreProperties &properties) { kept.push_back(properties.value); });
	ASSERT_TRUE(control);
	ASSERT_TRUE(runLoop(client, [&] { return cancelledCalls == 1 && !kept.empty(); }));
	EXPECT_TRUE(cancelled->active());
	cancelled.reset();

	// The control subscription hears the change: the signal came and was dispatched.
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(opened->acquire(2, 1s));
	ASSERT_TRUE(runLoop(client, [&] { return kept.back() == 0u; }));
	ASSERT_TRUE(opened->release(1));
	ASSERT_TRUE(runLoop(client, [&] { return kept.back() == 1u; }));
	EXPECT_EQ(cancelledCalls, 1);

	// Cancelled with a call queued already (the first state): that call is dropped.
	int droppedCalls = 0;
	auto queued = semaphore->onChanged([&](const SemaphoreProperties &) { ++droppedCalls; });
	ASSERT_TRUE(queued);
	queued->cancel();
	EXPECT_FALSE(queued->active());
	ASSERT_TRUE(opened->release(1));
	ASSERT_TRUE(runLoop(client, [&] { return kept.back() == 2u; }));
	EXPECT_EQ(droppedCalls, 0);

	// Cancelled by another callback of the same process(): not called either.
	int victimCalls = 0;
	std::optional<Subscription> victim;
	auto cancelling =
		semaphore->onChanged([&](const SemaphoreProperties &) { victim.reset(); });
	ASSERT_TRUE(cancelling);
	auto subscribed = semaphore->onChanged([&](const SemaphoreProperties &) { ++victimCalls; });
	ASSERT_TRUE(subscribed);
	victim.emplace(std::move(*subscribed));
	// Both first calls are queued; the first one cancels the second.
	ASSERT_TRUE(client.process());
	EXPECT_FALSE(victim);
	EXPECT_EQ(victimCalls, 0);
}

TEST_F(NotificationsTest, CallbacksRunOnlyFromProcessNeverFromAnotherThreadsCalls)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 5);
	ASSERT_TRUE(semaphore);
	const int fd = client.fd();
	ASSERT_GE(fd, 0);
	std::atomic<int> calls{0};
	std::atomic<bool> wrongThread{false};
	uint32_t last = 0;
	const auto loopThread = std::this_thread::get_id();
	auto subscription = semaphore->onChanged([&](const SemaphoreProperties &properties) {
		if (std::this_thread::get_id() != loopThread)
			wrongThread = true;
		last = properties.value;
		++calls;
	});
	ASSERT_TRUE(subscription);

	// Another client changes the value while a thread of this one makes blocking calls,
	// which read the connection (and the PropertiesChanged on it); process() is not
	// called meanwhile.
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	std::atomic<bool> stop{false};
	std::atomic<int> reads{0};
	std::thread reader([&] {
		while (!stop) {
			(void)semaphore->value();
			++reads;
		}
	});
	int acquired = 0;
	for (int i = 0; i < 5; ++i) {
		if (opened->acquire(1, 1s))
			++acquired;
		std::this_thread::sleep_for(30ms);
	}
	std::this_thread::sleep_for(100ms);
	stop = true;
	reader.join();
	ASSERT_EQ(acquired, 5);
	EXPECT_GT(reads.load(), 0);
	EXPECT_EQ(calls.load(), 0) << "a callback ran outside process()";
	EXPECT_FALSE(wrongThread);
	// What the blocking calls read is waiting for process(): the fd says so.
	pollfd readable{fd, POLLIN, 0};
	EXPECT_EQ(::poll(&readable, 1, 0), 1);
	ASSERT_TRUE(client.process());
	EXPECT_GE(calls.load(), 1);
	EXPECT_TRUE(runLoop(client, [&] { return last == 0u; })) << "last value seen: " << last;
	EXPECT_FALSE(wrongThread);
}

TEST_F(NotificationsTest, KillingIpchubdRunsOnDisconnectedFromProcessWithin500Ms)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	auto guard = lock->acquire(LockMode::Exclusive, 1s);
	ASSERT_TRUE(guard);
	std::vector<Error> errors;
	std::atomic<bool> wrongThread{false};
	const auto loopThread = std::this_thread::get_id();
	auto subscription = client.onDisconnected([&](const Error &error) {
		if (std::this_thread::get_id() != loopThread)
			wrongThread = true;
		errors.push_back(error);
	});
	ASSERT_TRUE(subscription) << subscription.error().message;
	ASSERT_GE(client.fd(), 0);
	ASSERT_TRUE(client.process());
	EXPECT_TRUE(errors.empty());

	noRestartWait();
	const auto killed = Clock::now();
	stopDaemon(SIGKILL);
	ASSERT_TRUE(runLoop(
		client, [&] { return !errors.empty(); }, 2s))
		<< "onDisconnected did not run";
	const auto elapsed = Clock::now() - killed;
	EXPECT_LT(elapsed, 500ms);
	EXPECT_EQ(errors[0].code, ErrorCode::Failed);
	EXPECT_NE(errors[0].message.find("left the bus"), std::string::npos) << errors[0].message;
	EXPECT_FALSE(wrongThread);
	// Once per departure.
	EXPECT_FALSE(runLoop(
		client, [&] { return errors.size() > 1; }, 200ms));
}

TEST_F(NotificationsTest, ACancelledDisconnectSubscriptionIsNotCalled)
{
	auto client = connect();
	int calls = 0;
	int controlCalls = 0;
	auto subscription = client.onDisconnected([&](const Error &) { ++calls; });
	auto control = client.onDisconnected([&](const Error &) { ++controlCalls; });
	ASSERT_TRUE(subscription);
	ASSERT_TRUE(control);
	subscription->cancel();
	stopDaemon(SIGKILL);
	ASSERT_TRUE(runLoop(
		client, [&] { return controlCalls == 1; }, 2s));
	EXPECT_EQ(calls, 0);
}

TEST_F(NotificationsTest, ALostBusConnectionRunsOnDisconnectedFromProcess)
{
	// A bus of this test's own, whose dbus-daemon it ends; the binary's bus stays.
	const std::string shared = std::getenv("DBUS_SESSION_BUS_ADDRESS");
	auto bus = std::make_unique<PrivateBus>();
	setenv("DBUS_SESSION_BUS_ADDRESS", shared.c_str(), 1);
	auto client = Client::connect(bus->address());
	ASSERT_TRUE(client) << client.error().message;
	std::vector<Error> errors;
	auto subscription =
		client->onDisconnected([&](const Error &error) { errors.push_back(error); });
	ASSERT_TRUE(subscription);
	ASSERT_GE(client->fd(), 0);

	const auto dropped = Clock::now();
	bus.reset();
	ASSERT_TRUE(runLoop(
		*client, [&] { return !errors.empty(); }, 2s))
		<< "onDisconnected did not run";
	EXPECT_LT(Clock::now() - dropped, 500ms);
	EXPECT_EQ(errors[0].code, ErrorCode::Failed);
	// Once; process() and the calls fail from now on, without a crash.
	EXPECT_FALSE(runLoop(
		*client, [&] { return errors.size() > 1; }, 200ms));
	EXPECT_FALSE(client->process());
	EXPECT_FALSE(client->createSemaphore("late", 1));
	// A subscription made afterwards is told at once.
	int late = 0;
	auto after = client->onDisconnected([&](const Error &) { ++late; });
	ASSERT_TRUE(after);
	(void)client->process();
	EXPECT_EQ(late, 1);
}

class NotificationsRestartTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		stopDaemon();
		ASSERT_TRUE(waitFor([&] { return !nameOwned(); }));
		daemon_ = manager_.startDaemon();
		ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd with NOTIFY_SOCKET";
	}

	FdStoreManager manager_;
	Child daemon_;
};

TEST_F(NotificationsRestartTest, SubscriptionsHearARestoredObjectAfterARestart)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3, {.persistent = true});
	ASSERT_TRUE(semaphore);
	std::vector<uint32_t> values;
	int departures = 0;
	auto changed = semaphore->onChanged(
		[&](const SemaphoreProperties &properties) { values.push_back(properties.value); });
	auto gone = client.onDisconnected([&](const Error &) { ++departures; });
	ASSERT_TRUE(changed);
	ASSERT_TRUE(gone);
	ASSERT_TRUE(semaphore->acquire(1, 1s));
	ASSERT_TRUE(runLoop(client, [&] { return !values.empty() && values.back() == 2u; }));

	daemon_.kill();
	ASSERT_TRUE(runLoop(
		client, [&] { return departures == 1; }, 2s));
	daemon_ = manager_.startDaemon();
	ASSERT_TRUE(waitFor([&] { return nameOwned(); })) << "ipchubd restarted";
	// The new ipchubd is told of this connection's interest: a change another client
	// makes reaches the callback.
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened) << opened.error().message;
	ASSERT_TRUE(opened->acquire(2, 1s));
	EXPECT_TRUE(runLoop(client, [&] { return values.back() == 0u; }))
		<< "last value seen: " << values.back();
	// What this connection held came back with the object: its unit is still its own.
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_TRUE(runLoop(client, [&] { return values.back() == 1u; }));
	ASSERT_TRUE(client.remove(semaphore->path()));
}

} // namespace
} // namespace ipchub::test
