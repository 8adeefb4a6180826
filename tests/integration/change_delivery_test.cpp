// SPDX-License-Identifier: LGPL-2.1-or-later
// Who hears an object's PropertiesChanged: every peer that may see the object and
// showed interest in it (Get, GetAll, Introspect, Create, Open, GetManagedObjects), as
// a plain Gio.DBusProxy does by reading the properties once; within the per-object and
// per-connection bounds; never a peer that left.

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <gmock/gmock.h>

#include "bus_fixture.hpp"
#include "flatpak_sandbox.hpp"

namespace ipchub::test {
namespace {

using ::testing::StartsWith;

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";
constexpr const char *kLockInterface = "io.github.ipchub1.Lock";
constexpr const char *kShmInterface = "io.github.ipchub1.SharedMemory";
// The promise: a signal within 20 ms of the change; the test allows for the bus and a
// Python main loop on a loaded machine.
constexpr auto kSeenWithin = 50ms;

// A Gio.DBusProxy in a Python process (gio_property_cache.py), printing its cached
// value of properties as they change.
class GioProxy
{
public:
	GioProxy(const std::string &address, const std::string &path, const std::string &interface,
		 const std::vector<std::string> &names)
		: conversation_(command(address, path, interface, names))
	{
	}

	struct Seen {
		std::string name;
		std::string value;
		std::chrono::steady_clock::time_point at;
	};

	// The next cached value the proxy shows; name "timeout" when none came.
	Seen next(std::chrono::milliseconds timeout = 10s)
	{
		std::istringstream line(conversation_.readLine(timeout));
		Seen seen;
		double seconds = 0;
		line >> seen.name >> seen.value >> seconds;
		seen.at = std::chrono::steady_clock::time_point(
			std::chrono::duration_cast<std::chrono::steady_clock::duration>(
				std::chrono::duration<double>(seconds)));
		return seen;
	}

private:
	static std::vector<std::string> command(const std::string &address, const std::string &path,
						const std::string &interface,
						const std::vector<std::string> &names)
	{
		const char *python = std::getenv("IPCHUB_PYTHON_GI");
		const char *script = std::getenv("IPCHUB_GIO_CACHE_SCRIPT");
		std::vector<std::string> argv{"env",
					      "DBUS_SESSION_BUS_ADDRESS=" + address,
					      python ? python : "/usr/bin/python3",
					      script ? script : "gio_property_cache.py",
					      path,
					      interface};
		argv.insert(argv.end(), names.begin(), names.end());
		return argv;
	}

	Conversation conversation_;
};

// Runs change (in this process, another than the proxy's) and expects the proxy to
// show name = value within kSeenWithin of the change's start.
void expectSeen(GioProxy &proxy, const std::string &name, const std::string &value,
		const std::function<void()> &change)
{
	const auto start = std::chrono::steady_clock::now();
	change();
	const auto seen = proxy.next();
	EXPECT_EQ(seen.name, name);
	EXPECT_EQ(seen.value, value);
	const auto late = std::chrono::duration_cast<std::chrono::microseconds>(seen.at - start);
	EXPECT_LT(late, kSeenWithin) << name << " = " << value << " seen " << late.count()
				     << " µs after the change started";
}

using ChangeDeliveryTest = IpchubTest;

TEST_F(ChangeDeliveryTest, GioProxyCachedValueFollowsAcquireAndRelease)
{
	auto owner = connect();
	auto semaphore = owner.createSemaphore("jobs", 3);
	ASSERT_TRUE(semaphore);
	GioProxy proxy(address(), semaphore->path(), kSemaphoreInterface, {"Value"});
	const auto first = proxy.next();
	ASSERT_EQ(first.name, "Value") << "the Gio.DBusProxy did not start";
	EXPECT_EQ(first.value, "3");

	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	for (int round = 0; round < 3; ++round) {
		expectSeen(proxy, "Value", "1", [&] { ASSERT_TRUE(opened->acquire(2, 0us)); });
		expectSeen(proxy, "Value", "3", [&] { ASSERT_TRUE(opened->release(2)); });
	}
}

TEST_F(ChangeDeliveryTest, GioProxyCachedModeFollowsTheLock)
{
	auto owner = connect();
	auto lock = owner.createLock("db");
	ASSERT_TRUE(lock);
	GioProxy proxy(address(), lock->path(), kLockInterface, {"Mode"});
	const auto first = proxy.next();
	ASSERT_EQ(first.name, "Mode") << "the Gio.DBusProxy did not start";
	EXPECT_EQ(first.value, "'unlocked'");

	auto other = connect();
	auto opened = other.openLock("db");
	ASSERT_TRUE(opened);
	std::optional<LockGuard> guard;
	expectSeen(proxy, "Mode", "'exclusive'", [&] {
		auto granted = opened->acquire(LockMode::Exclusive, 0us);
		ASSERT_TRUE(granted);
		guard.emplace(std::move(*granted));
	});
	expectSeen(proxy, "Mode", "'unlocked'", [&] { ASSERT_TRUE(guard->release()); });
	expectSeen(proxy, "Mode", "'shared'", [&] {
		auto granted = opened->acquire(LockMode::Shared, 0us);
		ASSERT_TRUE(granted);
		guard.emplace(std::move(*granted));
	});
	expectSeen(proxy, "Mode", "'unlocked'", [&] { ASSERT_TRUE(guard->release()); });
}

TEST_F(ChangeDeliveryTest, GioProxyCachedLockHolderFollowsTheSharedMemoryLock)
{
	auto owner = connect();
	auto sharedMemory = owner.createSharedMemory("frame", 4096);
	ASSERT_TRUE(sharedMemory);
	GioProxy proxy(address(), sharedMemory->path(), kShmInterface, {"LockHolder"});
	const auto first = proxy.next();
	ASSERT_EQ(first.name, "LockHolder") << "the Gio.DBusProxy did not start";
	EXPECT_EQ(first.value, "''");

	auto other = connect();
	auto opened = other.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(opened);
	std::optional<SharedMemoryLock> held;
	expectSeen(proxy, "LockHolder", "'" + other.uniqueName() + "'", [&] {
		auto locked = opened->lock(0us);
		ASSERT_TRUE(locked);
		held.emplace(std::move(*locked));
	});
	expectSeen(proxy, "LockHolder", "''", [&] { ASSERT_TRUE(held->unlock()); });
}

// Holders of more than 64 entries goes out invalidated, without its value: a lock of
// thousands of shared grants must not make every signal megabytes long.
TEST_F(ChangeDeliveryTest, LargeHoldersGoOutInvalidated)
{
	auto owner = connect();
	auto lock = owner.createLock("db");
	ASSERT_TRUE(lock);
	RawConnection reader(address());
	struct Change {
		bool holdersSent = false;
		bool holdersInvalidated = false;
		uint64_t token = 0;
	};
	auto changes = std::make_shared<std::vector<Change>>();
	reader.addMatch("type='signal',interface='org.freedesktop.DBus.Properties',"
			"member='PropertiesChanged',path='" +
				lock->path() + "'",
			[changes](sdbus::Message &message) {
				std::string interface;
				std::map<std::string, sdbus::Variant> changed;
				std::vector<std::string> invalidated;
				message >> interface >> changed >> invalidated;
				changes->push_back({changed.contains("Holders"),
						    std::ranges::find(invalidated, "Holders") !=
							    invalidated.end(),
						    changed.contains("Token")
							    ? changed.at("Token").get<uint64_t>()
							    : 0});
			});
	EXPECT_EQ(reader.property(lock->path(), kLockInterface, "Mode").get<std::string>(),
		  "unlocked");

	std::vector<LockHandle> grants;
	const auto grantUpTo = [&](size_t count) {
		while (grants.size() < count) {
			auto grant = lock->acquireHandle(LockMode::Shared, 0us);
			ASSERT_TRUE(grant) << grant.error().message;
			grants.push_back(std::move(*grant));
		}
	};
	const auto lastChange = [&](size_t count) {
		const uint64_t token = lock->token().value_or(0);
		EXPECT_TRUE(reader.waitFor(
			[&] { return !changes->empty() && changes->back().token == token; }))
			<< "no PropertiesChanged with " << count << " holders";
		return changes->empty() ? Change{} : changes->back();
	};
	grantUpTo(64);
	const Change inline64 = lastChange(64);
	EXPECT_TRUE(inline64.holdersSent);
	EXPECT_FALSE(inline64.holdersInvalidated);
	grantUpTo(65);
	const Change past = lastChange(65);
	EXPECT_FALSE(past.holdersSent);
	EXPECT_TRUE(past.holdersInvalidated);
	// Get still gives every holder.
	EXPECT_EQ(lock->holders().value_or(std::vector<LockHolder>{}).size(), 65u);
}

// Records the PropertiesChanged signals a connection is sent, by object path.
std::shared_ptr<std::map<std::string, int>> recordChanges(RawConnection &raw)
{
	auto heard = std::make_shared<std::map<std::string, int>>();
	raw.addMatch("type='signal',interface='org.freedesktop.DBus.Properties',"
		     "member='PropertiesChanged'",
		     [heard](sdbus::Message &message) { ++(*heard)[message.getPath()]; });
	return heard;
}

// Whether name has an owner on the bus: false once the bus has seen it leave, and so
// once ipchubd has been sent its NameOwnerChanged.
bool hasOwner(RawConnection &raw, const std::string &name)
{
	auto bus = sdbus::createProxy(raw.connection(), "org.freedesktop.DBus",
				      "/org/freedesktop/DBus");
	bool owned = true;
	bus->callMethod("NameHasOwner")
		.onInterface("org.freedesktop.DBus")
		.withArguments(name)
		.storeResultsTo(owned);
	return owned;
}

// Past a bound a reader is silently not added: its read succeeds, and it is told
// nothing of that object. One that leaves frees its place.
TEST_F(ChangeDeliveryTest, InterestedPeersAreBoundedPerObjectAndPerConnection)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--interested-peers-per-object=2", "--interests-per-connection=2"});
	RawConnection observer(address());
	const auto limits =
		observer.property("/io/github/ipchub1", "io.github.ipchub1.Manager", "Limits")
			.get<std::map<std::string, sdbus::Variant>>();
	EXPECT_EQ(limits.at("interested_peers_per_object").get<uint32_t>(), 2u);
	EXPECT_EQ(limits.at("interests_per_connection").get<uint32_t>(), 2u);

	// owner is told of a and b (created first), and of no more.
	auto owner = connect();
	auto a = owner.createSemaphore("a", 1);
	auto b = owner.createSemaphore("b", 1);
	auto c = owner.createSemaphore("c", 1);
	auto d = owner.createSemaphore("d", 1);
	auto e = owner.createSemaphore("e", 1);
	ASSERT_TRUE(a && b && c && d && e);

	// a: owner and first are told; second's read succeeds, and it is not told.
	auto first = std::make_unique<RawConnection>(address());
	RawConnection second(address());
	auto firstHeard = recordChanges(*first);
	auto secondHeard = recordChanges(second);
	EXPECT_EQ(first->value(a->path()), 1u);
	EXPECT_EQ(second.value(a->path()), 1u);
	EXPECT_EQ(second.value(c->path()), 1u);
	ASSERT_TRUE(a->acquire(1, 0us));
	ASSERT_TRUE(first->waitFor([&] { return firstHeard->contains(a->path()); }))
		<< "the first reader was not told of a";
	// a's signal to first went before c changed: had second been sent one, it would
	// have come before c's.
	ASSERT_TRUE(c->acquire(1, 0us));
	ASSERT_TRUE(second.waitFor([&] { return secondHeard->contains(c->path()); }));
	EXPECT_FALSE(secondHeard->contains(a->path()))
		<< "a third peer was told of a past interested_peers_per_object = 2";

	// Per connection: third is told of c and d, not of e.
	RawConnection third(address());
	auto thirdHeard = recordChanges(third);
	EXPECT_EQ(third.value(c->path()), 0u);
	EXPECT_EQ(third.value(d->path()), 1u);
	EXPECT_EQ(third.value(e->path()), 1u);
	ASSERT_TRUE(e->acquire(1, 0us));
	ASSERT_TRUE(d->acquire(1, 0us));
	ASSERT_TRUE(third.waitFor([&] { return thirdHeard->contains(d->path()); }));
	EXPECT_FALSE(thirdHeard->contains(e->path()))
		<< "a connection was told of a third object past interests_per_connection = 2";

	// first leaves: its place at a is free for second.
	const std::string firstName = first->uniqueName();
	first.reset();
	ASSERT_TRUE(waitFor([&] { return !hasOwner(observer, firstName); }));
	EXPECT_EQ(second.value(a->path()), 0u);
	ASSERT_TRUE(a->release(1));
	EXPECT_TRUE(second.waitFor([&] { return secondHeard->contains(a->path()); }))
		<< "a peer that left still holds its place among a's interested peers";
}

} // namespace
} // namespace ipchub::test
