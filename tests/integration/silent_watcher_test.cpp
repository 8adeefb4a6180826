// SPDX-License-Identifier: LGPL-2.1-or-later
// A subscriber that never reads its socket must not freeze the service. dbus-daemon
// queues what such a peer is sent, charged to the sender, and stops reading ipchubd
// once that passes its limit (max_incoming_bytes): every client's calls would then
// time out. ipchubd keeps at most unread_signals_per_connection signals unanswered per
// peer (asking with Peer.Ping whether it read them) and sends arrays of more than 64
// entries as invalidated, so what dbus-daemon holds for the peer stays bounded.

#include <algorithm>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SilentWatcherTest = IpchubTest;

using Pairs = std::vector<std::chrono::microseconds>;

// Times TryAcquire + Release pairs on semaphore for duration, adding them to pairs.
void timePairs(Semaphore &semaphore, std::chrono::milliseconds duration, Pairs &pairs)
{
	const auto end = std::chrono::steady_clock::now() + duration;
	while (std::chrono::steady_clock::now() < end) {
		const auto start = std::chrono::steady_clock::now();
		EXPECT_TRUE(semaphore.tryAcquire(1).value_or(false));
		EXPECT_TRUE(semaphore.release(1));
		pairs.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
			std::chrono::steady_clock::now() - start));
	}
}

std::chrono::microseconds median(Pairs pairs)
{
	std::nth_element(pairs.begin(), pairs.begin() + pairs.size() / 2, pairs.end());
	return pairs.at(pairs.size() / 2);
}

// dbus-daemon's figures for one connection (org.freedesktop.DBus.Debug.Stats).
std::map<std::string, sdbus::Variant> connectionStats(RawConnection &raw, const std::string &name)
{
	auto bus = sdbus::createProxy(raw.connection(), "org.freedesktop.DBus",
				      "/org/freedesktop/DBus");
	std::map<std::string, sdbus::Variant> stats;
	bus->callMethod("GetConnectionStats")
		.onInterface("org.freedesktop.DBus.Debug.Stats")
		.withArguments(name)
		.storeResultsTo(stats);
	return stats;
}

TEST_F(SilentWatcherTest, AWatcherThatNeverReadsCostsABoundedQueueAndNoLatency)
{
	auto owner = connect();
	auto lock = owner.createLock("db");
	ASSERT_TRUE(lock);
	// 200 shared grants: Holders is about 10 KB, past the 64 entries sent inline.
	std::vector<LockHandle> grants;
	for (int i = 0; i < 200; ++i) {
		auto grant = lock->acquireHandle(LockMode::Shared, 0us);
		ASSERT_TRUE(grant) << grant.error().message;
		grants.push_back(std::move(*grant));
	}
	// The lock changes all the time: a grant taken and given back in a loop.
	Child churn = forkChild([&] {
		auto client = Client::connect(address());
		if (!client)
			return 1;
		auto opened = client->openLock("db");
		if (!opened)
			return 1;
		for (;;)
			(void)opened->acquire(LockMode::Shared, 0us);
	});
	auto measured = connect();
	auto probe = measured.createSemaphore("probe", 1);
	ASSERT_TRUE(probe);
	RawConnection observer(address());
	ASSERT_TRUE(waitFor([&] { return lock->token().value_or(0) > 300; }))
		<< "the lock does not change";
	Pairs without;
	timePairs(*probe, 2s, without);
	const auto baseline = median(without);

	// The watcher: it asks for every object's signals, and never reads again.
	RawConnection watcher(address());
	watcher.introduce();
	auto lastToken = std::make_shared<uint64_t>(0);
	watcher.addMatch(std::string("type='signal',interface='org.freedesktop.DBus.Properties',"
				     "member='PropertiesChanged',path='") +
				 lock->path() + "'",
			 [lastToken](sdbus::Message &message) {
				 std::string interface;
				 std::map<std::string, sdbus::Variant> changed;
				 message >> interface >> changed;
				 if (auto it = changed.find("Token"); it != changed.end())
					 *lastToken = it->second.get<uint64_t>();
			 });
	// 10 s rather than the minute of a first report: the window of 256 signals is
	// full within 2 s (the lock and the probe semaphore each change 100 times a
	// second), after which nothing more is queued for the watcher: dbus-daemon's queue
	// for it is the same at 5 s and at 10 s, and its peak is within the window's
	// bound. A longer run would measure the same state longer.
	Pairs with;
	timePairs(*probe, 5s, with);
	const auto halfway = connectionStats(observer, watcher.uniqueName());
	timePairs(*probe, 5s, with);
	const auto withWatcher = median(with);
	const auto stats = connectionStats(observer, watcher.uniqueName());
	churn.kill();
	EXPECT_EQ(stats.at("OutgoingBytes").get<uint32_t>(),
		  halfway.at("OutgoingBytes").get<uint32_t>())
		<< "dbus-daemon's queue for a watcher that reads nothing still grows";
	const uint32_t peak = stats.at("PeakOutgoingBytes").get<uint32_t>();
	std::cout << "pair median " << baseline.count() << " µs without the watcher, "
		  << withWatcher.count() << " µs with it; dbus-daemon's peak queue for it " << peak
		  << " bytes\n";
	// What this guards against is ipchubd stalling on a peer that does not read (calls
	// then take seconds, or time out), not a few percent: the bound leaves room for the
	// load of a shared CI machine, which moves a median by 2x between two phases.
#ifndef __SANITIZE_ADDRESS__
	// Under the sanitizers the medians measure the instrumentation (1.4 ms against
	// 0.24 ms seen), not a stall: there the queue bounds above and below are the test.
	EXPECT_LE(withWatcher.count(), 4 * baseline.count())
		<< "calls took " << withWatcher.count() << " µs with a watcher that never reads, "
		<< baseline.count() << " µs without";
#endif
	const auto limits =
		observer.property("/io/github/ipchub1", "io.github.ipchub1.Manager", "Limits")
			.get<std::map<std::string, sdbus::Variant>>();
	ASSERT_TRUE(limits.contains("unread_signals_per_connection"));
	const uint32_t window = limits.at("unread_signals_per_connection").get<uint32_t>();
	// Every signal here is a few hundred bytes; 1 KiB each is a generous bound.
	EXPECT_LE(peak, window * 1024u)
		<< "dbus-daemon held " << peak << " bytes for a watcher that reads nothing";

	// Once it reads, it is sent the lock's latest state.
	ASSERT_TRUE(waitFor(
		[&] { return lock->holders().value_or(std::vector<LockHolder>{}).size() == 200; }));
	const uint64_t finalToken = lock->token().value_or(0);
	EXPECT_TRUE(watcher.waitFor([&] { return *lastToken == finalToken; }))
		<< "the watcher's last Token is " << *lastToken << ", the lock's " << finalToken;
}

} // namespace
} // namespace ipchub::test
