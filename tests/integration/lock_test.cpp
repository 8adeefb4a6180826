#include "bus_fixture.hpp"

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <sdbus-c++/sdbus-c++.h>

namespace ipchub::test {
namespace {

constexpr const char *kPath = "/io/github/ipchub1/lock/db";

// A connection on a thread of its own that asks for the lock and holds what it is
// granted until let go (or the test ends).
class Contender
{
public:
	Contender(const std::string &address, LockMode mode,
		  std::chrono::microseconds timeout = 10s)
		: granted_(grantPromise_.get_future().share()), letGo_(letGoPromise_.get_future())
	{
		thread_ = std::thread([this, address, mode, timeout] {
			auto client = Client::connect(address);
			auto lock = client ? client->openLock("db") : Result<Lock>(detail::Unexpected<Error>(client.error()));
			if (!lock) {
				grantPromise_.set_value(detail::Unexpected<Error>(lock.error()));
				return;
			}
			auto guard = lock->acquire(mode, timeout);
			if (!guard) {
				grantPromise_.set_value(detail::Unexpected<Error>(guard.error()));
				return;
			}
			grantPromise_.set_value(guard->token());
			letGo_.wait();
		});
	}
	~Contender()
	{
		letGo();
		thread_.join();
	}

	// Whether the wait has ended, granted or not.
	bool answered() const { return granted_.wait_for(0s) == std::future_status::ready; }
	// The token or the error that ended the wait; Failed when nothing came in time.
	Result<uint64_t> result(std::chrono::milliseconds timeout = 10s) const
	{
		if (granted_.wait_for(timeout) != std::future_status::ready)
			return fail(ErrorCode::Failed, "no answer in time");
		return granted_.get();
	}
	void letGo()
	{
		std::call_once(letGoOnce_, [this] { letGoPromise_.set_value(); });
	}

private:
	std::promise<Result<uint64_t>> grantPromise_;
	std::shared_future<Result<uint64_t>> granted_;
	std::promise<void> letGoPromise_;
	std::future<void> letGo_;
	std::once_flag letGoOnce_;
	std::thread thread_;
};

// One byte over a pipe: a forked child's "I am there".
struct Signal {
	int fds[2];
	Signal() { EXPECT_EQ(pipe(fds), 0); }
	~Signal()
	{
		close(fds[0]);
		close(fds[1]);
	}
	void raise() const
	{
		const char c = 'x';
		(void)!write(fds[1], &c, 1);
	}
	bool wait() const
	{
		char c;
		return read(fds[0], &c, 1) == 1;
	}
};

class LockTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		client_.emplace(connect());
		auto created = client_->createLock("db");
		ASSERT_TRUE(created) << created.error().message;
		lock_.emplace(std::move(*created));
	}
	void TearDown() override
	{
		lock_.reset();
		client_.reset();
		IpchubTest::TearDown();
	}

	Lock openLock(Client &client)
	{
		auto lock = client.openLock("db");
		EXPECT_TRUE(lock) << lock.error().message;
		return std::move(*lock);
	}
	bool waitersAre(uint32_t n) { return waitFor([&] { return lock_->waiters() == n; }); }
	LockState state() { return lock_->mode().value_or(LockState::Unlocked); }

	std::optional<Client> client_;
	std::optional<Lock> lock_;
};

TEST_F(LockTest, ReadersShareAndAWriterIsAlone)
{
	EXPECT_EQ(lock_->path(), kPath);
	EXPECT_EQ(state(), LockState::Unlocked);
	auto clientB = connect();
	auto lockB = openLock(clientB);
	auto clientC = connect();
	auto lockC = openLock(clientC);

	auto readerA = lock_->acquire(LockMode::Shared, 0us);
	ASSERT_TRUE(readerA) << readerA.error().message;
	auto readerB = lockB.tryAcquire(LockMode::Shared);
	ASSERT_TRUE(readerB && *readerB);
	EXPECT_EQ(state(), LockState::Shared);
	EXPECT_EQ(lock_->holders()->size(), 2u);
	EXPECT_FALSE(lockC.tryAcquire(LockMode::Exclusive).value());
	auto writer = lockC.acquire(LockMode::Exclusive, 0us);
	ASSERT_FALSE(writer);
	EXPECT_EQ(writer.error().code, ErrorCode::WouldBlock);

	ASSERT_TRUE(readerA->release());
	EXPECT_EQ(state(), LockState::Shared);
	ASSERT_TRUE((*readerB)->release());
	EXPECT_EQ(state(), LockState::Unlocked);

	writer = lockC.acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer) << writer.error().message;
	EXPECT_EQ(state(), LockState::Exclusive);
	EXPECT_FALSE(lock_->tryAcquire(LockMode::Shared).value());
	EXPECT_FALSE(lockB.tryAcquire(LockMode::Exclusive).value());
	ASSERT_TRUE(writer->release());
	EXPECT_EQ(state(), LockState::Unlocked);
}

TEST_F(LockTest, AWriterQueuedBehindReadersIsNotStarvedByLaterReaders)
{
	auto reader = lock_->acquire(LockMode::Shared, 0us);
	ASSERT_TRUE(reader);
	Contender writer(address(), LockMode::Exclusive);
	ASSERT_TRUE(waitersAre(1));
	// The lock is shared, but a writer waits: a later reader queues behind it.
	Contender lateReader(address(), LockMode::Shared);
	ASSERT_TRUE(waitersAre(2));
	auto clientB = connect();
	EXPECT_FALSE(openLock(clientB).tryAcquire(LockMode::Shared).value());
	EXPECT_FALSE(writer.answered());
	EXPECT_FALSE(lateReader.answered());
	EXPECT_EQ(lock_->holders()->size(), 1u);

	ASSERT_TRUE(reader->release());
	auto writerToken = writer.result();
	ASSERT_TRUE(writerToken) << writerToken.error().message;
	EXPECT_EQ(state(), LockState::Exclusive);
	EXPECT_EQ(lock_->waiters().value(), 1u);
	EXPECT_FALSE(lateReader.answered());

	writer.letGo();
	auto readerToken = lateReader.result();
	ASSERT_TRUE(readerToken) << readerToken.error().message;
	EXPECT_GT(*readerToken, *writerToken);
	EXPECT_GT(*writerToken, reader->token());
	EXPECT_EQ(state(), LockState::Shared);
}

TEST_F(LockTest, EveryGrantGetsALargerToken)
{
	auto clientB = connect();
	auto lockB = openLock(clientB);
	EXPECT_EQ(lock_->token().value(), 0u);
	uint64_t last = 0;
	for (int round = 0; round < 3; ++round) {
		auto writer = lock_->acquire(LockMode::Exclusive, 1s);
		ASSERT_TRUE(writer);
		EXPECT_GT(writer->token(), last);
		EXPECT_EQ(lock_->token().value(), writer->token());
		last = writer->token();
		ASSERT_TRUE(writer->release());

		auto readerA = lock_->acquire(LockMode::Shared, 1s);
		auto readerB = lockB.acquire(LockMode::Shared, 1s);
		ASSERT_TRUE(readerA && readerB);
		EXPECT_GT(readerA->token(), last);
		EXPECT_GT(readerB->token(), readerA->token());
		last = readerB->token();
		auto holders = lock_->holders().value();
		ASSERT_EQ(holders.size(), 2u);
		EXPECT_EQ(holders[0].token, readerA->token());
		EXPECT_EQ(holders[1].token, readerB->token());
	}
	auto handle = lock_->acquireHandle(LockMode::Exclusive, 1s);
	ASSERT_TRUE(handle) << handle.error().message;
	EXPECT_GT(handle->token(), last);
}

TEST_F(LockTest, TimeoutsAndTryingOnce)
{
	auto clientB = connect();
	auto lockB = openLock(clientB);
	auto writer = lockB.acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);

	const auto start = std::chrono::steady_clock::now();
	auto timedOut = lock_->acquire(LockMode::Shared, 200ms);
	const auto waited = std::chrono::steady_clock::now() - start;
	ASSERT_FALSE(timedOut);
	EXPECT_EQ(timedOut.error().code, ErrorCode::Timeout) << timedOut.error().message;
	EXPECT_GE(waited, 190ms);
	EXPECT_LT(waited, 5s);
	EXPECT_EQ(lock_->waiters().value(), 0u);

	auto once = lock_->acquire(LockMode::Exclusive, 0us);
	ASSERT_FALSE(once);
	EXPECT_EQ(once.error().code, ErrorCode::WouldBlock);
	auto handle = lock_->acquireHandle(LockMode::Shared, 0us);
	ASSERT_FALSE(handle);
	EXPECT_EQ(handle.error().code, ErrorCode::WouldBlock);
	EXPECT_FALSE(lock_->tryAcquire(LockMode::Shared).value());

	ASSERT_TRUE(writer->release());
	EXPECT_TRUE(lock_->acquire(LockMode::Shared, 200ms));
}

TEST_F(LockTest, AWriterThatTimesOutLetsTheReadersBehindItIn)
{
	auto reader = lock_->acquire(LockMode::Shared, 0us);
	ASSERT_TRUE(reader);
	Contender writer(address(), LockMode::Exclusive, 300ms);
	ASSERT_TRUE(waitersAre(1));
	Contender lateReader(address(), LockMode::Shared);
	ASSERT_TRUE(waitersAre(2));
	auto writerResult = writer.result();
	ASSERT_FALSE(writerResult);
	EXPECT_EQ(writerResult.error().code, ErrorCode::Timeout);
	// Nobody released: the reader behind the writer joins the holder.
	EXPECT_TRUE(lateReader.result());
	EXPECT_EQ(lock_->holders()->size(), 2u);
}

TEST_F(LockTest, ErrorsForRawCallers)
{
	const std::vector<std::string> call{"gdbus", "call", "--session", "--dest", "io.github.ipchub1",
					    "--object-path", kPath, "--method"};
	auto with = [&](std::vector<std::string> args) {
		auto argv = call;
		argv.insert(argv.end(), args.begin(), args.end());
		return run(argv);
	};
	auto bad = with({"io.github.ipchub1.Lock.Acquire", "bogus", "0"});
	EXPECT_NE(bad.status, 0);
	EXPECT_NE(bad.err.find("io.github.ipchub1.Error.InvalidArgument"), std::string::npos) << bad.err;
	EXPECT_NE(bad.err.find("mode \"bogus\""), std::string::npos) << bad.err;
	bad = with({"io.github.ipchub1.Lock.TryAcquire", "Exclusive"});
	EXPECT_NE(bad.err.find("io.github.ipchub1.Error.InvalidArgument"), std::string::npos) << bad.err;
	bad = with({"io.github.ipchub1.Lock.AcquireHandle", "", "0"});
	EXPECT_NE(bad.err.find("io.github.ipchub1.Error.InvalidArgument"), std::string::npos) << bad.err;

	auto notHeld = with({"io.github.ipchub1.Lock.Release"});
	EXPECT_NE(notHeld.status, 0);
	EXPECT_NE(notHeld.err.find("io.github.ipchub1.Error.NotHeld"), std::string::npos) << notHeld.err;

	auto granted = with({"io.github.ipchub1.Lock.TryAcquire", "exclusive"});
	EXPECT_EQ(granted.status, 0) << granted.err;
	EXPECT_NE(granted.out.find("(true, uint64 1)"), std::string::npos) << granted.out;

	auto writer = lock_->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);
	auto wouldBlock = with({"io.github.ipchub1.Lock.Acquire", "shared", "0"});
	EXPECT_NE(wouldBlock.err.find("io.github.ipchub1.Error.WouldBlock"), std::string::npos)
		<< wouldBlock.err;
	auto timeout = with({"io.github.ipchub1.Lock.Acquire", "shared", "100000"});
	EXPECT_NE(timeout.err.find("io.github.ipchub1.Error.Timeout"), std::string::npos) << timeout.err;

	auto unknown = run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1",
			    "--object-path", "/io/github/ipchub1", "--method",
			    "io.github.ipchub1.Manager.CreateLock", "x", "{'max': <uint32 1>}"});
	EXPECT_NE(unknown.err.find("io.github.ipchub1.Error.InvalidArgument"), std::string::npos)
		<< unknown.err;
}

TEST_F(LockTest, CreateOpenAndRemove)
{
	auto again = client_->createLock("db");
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
	EXPECT_TRUE(client_->createLock("db", {.openExisting = true}));
	auto missing = client_->openLock("nothing");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ErrorCode::NotFound);

	auto persistent = client_->createLock("kept", {.persistent = true});
	ASSERT_TRUE(persistent);
	auto writer = persistent->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);
	auto clientB = connect();
	auto kept = clientB.openLock("kept");
	ASSERT_TRUE(kept);
	Result<LockGuard> waited = fail(ErrorCode::Failed, "not answered");
	std::thread waiter([&] { waited = kept->acquire(LockMode::Shared, 10s); });
	EXPECT_TRUE(waitFor([&] { return persistent->waiters().value_or(0) == 1; }));
	ASSERT_TRUE(client_->remove("/io/github/ipchub1/lock/kept"));
	waiter.join();
	ASSERT_FALSE(waited);
	EXPECT_EQ(waited.error().code, ErrorCode::Cancelled) << waited.error().message;
}

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
		auto lock = client ? client->openLock("db") : Result<Lock>(fail(ErrorCode::Failed, ""));
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
		auto lock = client ? client->openLock("db") : Result<Lock>(fail(ErrorCode::Failed, ""));
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
