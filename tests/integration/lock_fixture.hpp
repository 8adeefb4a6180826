// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the lock tests share: a LockTest fixture whose client has created the lock
// "db", contenders that wait for it on threads of their own, and a pipe to hear from
// forked children.

#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "bus_fixture.hpp"

namespace ipchub::test {

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
			if (!client) {
				grantPromise_.set_value(detail::Unexpected<Error>(client.error()));
				return;
			}
			auto lock = client->openLock("db");
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

} // namespace ipchub::test
