// SPDX-License-Identifier: LGPL-2.1-or-later
// A connection that leaves the bus costs ipchubd what that connection had, not a visit
// of every object: departures of connections that never talked to ipchubd cost about
// the same CPU time with ten objects as with ten thousand unrelated ones.

#include <fstream>
#include <sstream>
#include <unistd.h>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

class DepartureCostTest : public IpchubTest
{
protected:
	// ipchubd's user and system CPU time so far.
	std::chrono::milliseconds cpuTime()
	{
		std::ifstream stat("/proc/" + std::to_string(daemonPid()) + "/stat");
		std::string text((std::istreambuf_iterator<char>(stat)), {});
		// Fields after the command name, which is in parentheses and may hold spaces.
		std::istringstream fields(text.substr(text.rfind(')') + 2));
		std::string field;
		for (int i = 3; i < 14; ++i)
			fields >> field;
		long long user = 0, system = 0;
		fields >> user >> system;
		const long ticks = sysconf(_SC_CLK_TCK);
		return std::chrono::milliseconds((user + system) * 1000 / ticks);
	}

	// Connections that join the bus and leave without a word to ipchubd; returns once
	// ipchubd has handled every departure.
	void departures(RawConnection &observer, int count)
	{
		std::vector<std::string> names;
		for (int i = 0; i < count; ++i) {
			RawConnection passing(address());
			names.push_back(passing.uniqueName());
		}
		auto bus = sdbus::createProxy(observer.connection(), "org.freedesktop.DBus",
					      "/org/freedesktop/DBus");
		for (const auto &name : names)
			ASSERT_TRUE(waitFor([&] {
				bool owned = true;
				bus->callMethod("NameHasOwner")
					.onInterface("org.freedesktop.DBus")
					.withArguments(name)
					.storeResultsTo(owned);
				return !owned;
			}));
		// The bus sent ipchubd each NameOwnerChanged before this call.
		auto daemon = sdbus::createProxy(observer.connection(), "io.github.ipchub1",
						 "/io/github/ipchub1");
		daemon->callMethod("Ping").onInterface("org.freedesktop.DBus.Peer");
	}

	std::chrono::milliseconds costOfDepartures(RawConnection &observer, int count)
	{
		const auto before = cpuTime();
		departures(observer, count);
		return cpuTime() - before;
	}
};

TEST_F(DepartureCostTest, ADepartureDoesNotVisitUnrelatedObjects)
{
	constexpr int kDepartures = 200;
	constexpr int kObjects = 10000;
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--objects-per-connection=20000", "--objects-per-uid=20000"});
	RawConnection holder(address());
	for (int i = 0; i < 10; ++i)
		holder.createSemaphore("few" + std::to_string(i), 1);
	const auto few = costOfDepartures(holder, kDepartures);

	for (int i = 0; i < kObjects; ++i)
		holder.createSemaphore("many" + std::to_string(i), 1);
	const auto many = costOfDepartures(holder, kDepartures);
	// Loose, for a loaded machine: visiting every object cost about 1 ms per
	// departure here, 2 s in all.
	EXPECT_LE(many, 3 * few + 300ms)
		<< kDepartures << " departures cost ipchubd " << few.count()
		<< " ms of CPU with 10 objects and " << many.count() << " ms with " << kObjects;
	RecordProperty("few_ms", static_cast<int>(few.count()));
	RecordProperty("many_ms", static_cast<int>(many.count()));
}

} // namespace
} // namespace ipchub::test
