// SPDX-License-Identifier: LGPL-2.1-or-later
#include "lock_fixture.hpp"

#include <string>
#include <vector>

namespace ipchub::test {
namespace {

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

// Whether a gdbus call failed with io.github.ipchub1.Error.<name>.
bool failedWith(const CommandResult &result, const std::string &name)
{
	return result.status != 0 &&
	       result.err.find("io.github.ipchub1.Error." + name + ":") != std::string::npos;
}

TEST_F(LockTest, ErrorsForRawCallers)
{
	const std::vector<std::string> call{"gdbus", "call", "--session", "--dest",
					    "io.github.ipchub1", "--object-path", kPath, "--method"};
	auto with = [&](std::vector<std::string> args) {
		auto argv = call;
		argv.insert(argv.end(), args.begin(), args.end());
		return run(argv);
	};
	auto bad = with({"io.github.ipchub1.Lock.Acquire", "bogus", "0"});
	EXPECT_TRUE(failedWith(bad, "InvalidArgument")) << bad.err;
	EXPECT_NE(bad.err.find("mode \"bogus\""), std::string::npos) << bad.err;
	bad = with({"io.github.ipchub1.Lock.TryAcquire", "Exclusive"});
	EXPECT_TRUE(failedWith(bad, "InvalidArgument")) << bad.err;
	bad = with({"io.github.ipchub1.Lock.AcquireHandle", "", "0"});
	EXPECT_TRUE(failedWith(bad, "InvalidArgument")) << bad.err;

	auto notHeld = with({"io.github.ipchub1.Lock.Release"});
	EXPECT_TRUE(failedWith(notHeld, "NotHeld")) << notHeld.err;

	auto granted = with({"io.github.ipchub1.Lock.TryAcquire", "exclusive"});
	EXPECT_EQ(granted.status, 0) << granted.err;
	EXPECT_NE(granted.out.find("(true, uint64 1)"), std::string::npos) << granted.out;

	auto writer = lock_->acquire(LockMode::Exclusive, 0us);
	ASSERT_TRUE(writer);
	auto wouldBlock = with({"io.github.ipchub1.Lock.Acquire", "shared", "0"});
	EXPECT_TRUE(failedWith(wouldBlock, "WouldBlock")) << wouldBlock.err;
	auto timeout = with({"io.github.ipchub1.Lock.Acquire", "shared", "100000"});
	EXPECT_TRUE(failedWith(timeout, "Timeout")) << timeout.err;

	auto unknown = run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1",
			    "--object-path", "/io/github/ipchub1", "--method",
			    "io.github.ipchub1.Manager.CreateLock", "x", "{'max': <uint32 1>}"});
	EXPECT_TRUE(failedWith(unknown, "InvalidArgument")) << unknown.err;
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

} // namespace
} // namespace ipchub::test
