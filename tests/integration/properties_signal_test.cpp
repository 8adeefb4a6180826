// SPDX-License-Identifier: LGPL-2.1-or-later
// Semaphore properties and the signals that make changes visible without polling:
// PropertiesChanged on each semaphore, InterfacesAdded/InterfacesRemoved and
// GetManagedObjects on the ObjectManager at /io/github/ipchub1.

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using PropertiesSignalTest = IpchubTest;

constexpr const char *kManager = "/io/github/ipchub1";
constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";
constexpr const char *kJobs = "/io/github/ipchub1/semaphore/jobs";

using Holders = std::vector<sdbus::Struct<std::string, uint32_t>>;
using PropertyMap = std::map<std::string, sdbus::Variant>;
using ManagedObjects = std::map<sdbus::ObjectPath, std::map<std::string, PropertyMap>>;

std::map<std::string, uint32_t> holderMap(const Holders &holders)
{
	std::map<std::string, uint32_t> map;
	for (const auto &holder : holders)
		map[holder.get<0>()] = holder.get<1>();
	return map;
}

struct PropertiesChange {
	std::string interface;
	PropertyMap changed;
	std::vector<std::string> invalidated;
};

// Records the PropertiesChanged signals of path.
std::shared_ptr<std::vector<PropertiesChange>> watchProperties(RawConnection &raw,
							       const std::string &path)
{
	auto changes = std::make_shared<std::vector<PropertiesChange>>();
	raw.addMatch(
		"type='signal',sender='io.github.ipchub1',path='" + path +
			"',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
		[changes](sdbus::Message &message) {
			PropertiesChange change;
			message >> change.interface >> change.changed >> change.invalidated;
			changes->push_back(std::move(change));
		});
	return changes;
}

// Whether some recorded change of the Semaphore interface satisfies condition.
bool anyChange(const std::vector<PropertiesChange> &changes,
	       const std::function<bool(const PropertyMap &)> &condition)
{
	for (const auto &change : changes)
		if (change.interface == kSemaphoreInterface && condition(change.changed))
			return true;
	return false;
}

template <typename T>
bool has(const PropertyMap &map, const std::string &name, const T &value)
{
	auto it = map.find(name);
	return it != map.end() && it->second.containsValueOfType<T>() &&
	       it->second.get<T>() == value;
}

struct ObjectManagerSignals {
	std::vector<std::pair<std::string, std::map<std::string, PropertyMap>>> added;
	std::vector<std::pair<std::string, std::vector<std::string>>> removed;
};

std::shared_ptr<ObjectManagerSignals> watchObjectManager(RawConnection &raw)
{
	auto signals = std::make_shared<ObjectManagerSignals>();
	const std::string rule = std::string("type='signal',sender='io.github.ipchub1',path='") +
				 kManager + "',interface='org.freedesktop.DBus.ObjectManager',";
	raw.addMatch(rule + "member='InterfacesAdded'", [signals](sdbus::Message &message) {
		sdbus::ObjectPath path;
		std::map<std::string, PropertyMap> interfaces;
		message >> path >> interfaces;
		signals->added.emplace_back(path, std::move(interfaces));
	});
	raw.addMatch(rule + "member='InterfacesRemoved'", [signals](sdbus::Message &message) {
		sdbus::ObjectPath path;
		std::vector<std::string> interfaces;
		message >> path >> interfaces;
		signals->removed.emplace_back(path, std::move(interfaces));
	});
	return signals;
}

ManagedObjects managedObjects(RawConnection &raw)
{
	auto proxy = sdbus::createProxy(raw.connection(), "io.github.ipchub1", kManager);
	ManagedObjects objects;
	proxy->callMethod("GetManagedObjects")
		.onInterface("org.freedesktop.DBus.ObjectManager")
		.storeResultsTo(objects);
	return objects;
}

TEST_F(PropertiesSignalTest, PropertiesOfASemaphore)
{
	auto client = connect();
	auto bounded = client.createSemaphore("bounded", 2, {.max = 7});
	auto unbounded = client.createSemaphore("jobs", 0, {.scope = "org.example.App"});
	ASSERT_TRUE(bounded && unbounded);
	RawConnection raw(address());
	auto get = [&](const std::string &path, const char *name) {
		return raw.property(path, kSemaphoreInterface, name);
	};
	EXPECT_EQ(get(bounded->path(), "Key").get<std::string>(), "bounded");
	EXPECT_EQ(get(bounded->path(), "Scope").get<std::string>(), "");
	EXPECT_EQ(get(bounded->path(), "Max").get<uint32_t>(), 7u);
	EXPECT_EQ(get(bounded->path(), "Value").get<uint32_t>(), 2u);
	EXPECT_EQ(get(bounded->path(), "Waiters").get<uint32_t>(), 0u);
	EXPECT_TRUE(get(bounded->path(), "Holders").get<Holders>().empty());
	EXPECT_EQ(get(unbounded->path(), "Key").get<std::string>(), "jobs");
	EXPECT_EQ(get(unbounded->path(), "Scope").get<std::string>(), "org.example.App");
	EXPECT_EQ(get(unbounded->path(), "Max").get<uint32_t>(), 4294967295u);

	// GetAll gives the same, with the contract's types.
	auto proxy = sdbus::createProxy(raw.connection(), "io.github.ipchub1", bounded->path());
	PropertyMap all;
	proxy->callMethod("GetAll")
		.onInterface("org.freedesktop.DBus.Properties")
		.withArguments(std::string(kSemaphoreInterface))
		.storeResultsTo(all);
	std::map<std::string, std::string> types;
	for (const auto &[name, value] : all)
		types[name] = value.peekValueType();
	EXPECT_EQ(types, (std::map<std::string, std::string>{{"Key", "s"},
							     {"Scope", "s"},
							     {"Fast", "b"},
							     {"Max", "u"},
							     {"ReturnOnExit", "b"},
							     {"Value", "u"},
							     {"Waiters", "u"},
							     {"Holders", "a(su)"}}));
}

TEST_F(PropertiesSignalTest, HoldersNameEachHoldingConnectionAndItsUnits)
{
	auto first = connect();
	auto second = connect();
	auto semaphore = first.createSemaphore("jobs", 5);
	ASSERT_TRUE(semaphore);
	auto opened = second.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(semaphore->acquire(2, 0us));
	ASSERT_TRUE(opened->acquire(1, 0us));
	ASSERT_TRUE(semaphore->tryAcquire(1).value_or(false));
	RawConnection raw(address());
	auto holders =
		holderMap(raw.property(kJobs, kSemaphoreInterface, "Holders").get<Holders>());
	EXPECT_EQ(holders, (std::map<std::string, uint32_t>{{first.uniqueName(), 3},
							    {second.uniqueName(), 1}}));
	EXPECT_EQ(semaphore->value().value(), 1u);

	// Releasing what it holds takes a holder off the list.
	ASSERT_TRUE(semaphore->release(3));
	holders = holderMap(raw.property(kJobs, kSemaphoreInterface, "Holders").get<Holders>());
	EXPECT_EQ(holders, (std::map<std::string, uint32_t>{{second.uniqueName(), 1}}));

	// busctl shows the same.
	auto shown = run({"busctl", "--user", "get-property", "io.github.ipchub1", kJobs,
			  kSemaphoreInterface, "Holders"});
	EXPECT_EQ(shown.out, "a(su) 1 \"" + second.uniqueName() + "\" 1\n") << shown.err;
}

TEST_F(PropertiesSignalTest, PropertiesChangedForValueWaitersAndHolders)
{
	RawConnection monitor(address());
	monitor.introduce();
	auto changes = watchProperties(monitor, kJobs);
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore);
	ASSERT_EQ(semaphore->path(), kJobs);
	const std::string holder = client.uniqueName();

	ASSERT_TRUE(semaphore->acquire(1, 0us));
	EXPECT_TRUE(monitor.waitFor([&] {
		return anyChange(*changes, [&](const PropertyMap &changed) {
			return has<uint32_t>(changed, "Value", 1) &&
			       has<uint32_t>(changed, "Waiters", 0) &&
			       has(changed, "Holders", Holders{{holder, 1u}});
		});
	})) << "no PropertiesChanged with Value 1 and the new holder";

	RawConnection waiter(address());
	auto wait = waiter.acquireAsync(kJobs, 2, UINT64_MAX);
	EXPECT_TRUE(monitor.waitFor([&] {
		return anyChange(*changes, [&](const PropertyMap &changed) {
			return has<uint32_t>(changed, "Waiters", 1) &&
			       has<uint32_t>(changed, "Value", 1);
		});
	})) << "no PropertiesChanged with Waiters 1";

	ASSERT_TRUE(semaphore->release(1));
	ASSERT_TRUE(waiter.waitFor([&] { return wait->done; }));
	EXPECT_TRUE(monitor.waitFor([&] {
		return anyChange(*changes, [&](const PropertyMap &changed) {
			return has<uint32_t>(changed, "Waiters", 0) &&
			       has<uint32_t>(changed, "Value", 0) &&
			       has(changed, "Holders", Holders{{waiter.uniqueName(), 2u}});
		});
	})) << "no PropertiesChanged for the grant";
	for (const auto &change : *changes) {
		EXPECT_EQ(change.interface, kSemaphoreInterface);
		EXPECT_FALSE(change.changed.contains("Key"));
		EXPECT_FALSE(change.changed.contains("Max"));
	}

	// A killed waiter leaving the queue is announced too.
	const size_t before = changes->size();
	Child killed = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("jobs");
		return sem ? sem->acquire(1, kForever) ? 0 : 2 : 1;
	});
	ASSERT_TRUE(waitFor([&] { return semaphore->waiters().value_or(0) == 1; }));
	ASSERT_TRUE(monitor.waitFor([&] {
		return changes->size() > before &&
		       has<uint32_t>(changes->back().changed, "Waiters", 1);
	}));
	const size_t queued = changes->size();
	killed.kill(SIGKILL);
	EXPECT_TRUE(monitor.waitFor([&] {
		return changes->size() > queued &&
		       has<uint32_t>(changes->back().changed, "Waiters", 0);
	})) << "no PropertiesChanged when the killed waiter left the queue";
}

TEST_F(PropertiesSignalTest, InterfacesAddedAndRemovedOnTheObjectManager)
{
	RawConnection monitor(address());
	monitor.introduce();
	auto signals = watchObjectManager(monitor);
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3, {.max = 4});
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(monitor.waitFor([&] { return !signals->added.empty(); }))
		<< "no InterfacesAdded";
	const auto &[path, interfaces] = signals->added.front();
	EXPECT_EQ(path, kJobs);
	ASSERT_TRUE(interfaces.contains(kSemaphoreInterface));
	const auto &properties = interfaces.at(kSemaphoreInterface);
	EXPECT_TRUE(has<std::string>(properties, "Key", "jobs"));
	EXPECT_TRUE(has<uint32_t>(properties, "Max", 4));
	EXPECT_TRUE(has<uint32_t>(properties, "Value", 3));

	// Opening it again adds nothing.
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(opened->close());
	EXPECT_TRUE(signals->removed.empty());

	ASSERT_TRUE(semaphore->close());
	ASSERT_TRUE(monitor.waitFor([&] { return !signals->removed.empty(); }))
		<< "no InterfacesRemoved after the last Close";
	EXPECT_EQ(signals->removed.front().first, kJobs);
	EXPECT_NE(std::find(signals->removed.front().second.begin(),
			    signals->removed.front().second.end(), kSemaphoreInterface),
		  signals->removed.front().second.end());
	EXPECT_EQ(signals->added.size(), 1u);

	// Remove and a killed creator end objects with the same signal.
	auto persistent = client.createSemaphore("kept", 1, {.persistent = true});
	ASSERT_TRUE(persistent);
	ASSERT_TRUE(client.remove(persistent->path()));
	ASSERT_TRUE(monitor.waitFor([&] { return signals->removed.size() == 2; }));
	EXPECT_EQ(signals->removed.back().first, persistent->path());

	Child creator = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->createSemaphore("solo", 1);
		pause();
		return sem ? 0 : 1;
	});
	ASSERT_TRUE(monitor.waitFor([&] { return signals->added.size() == 3; }));
	creator.kill(SIGKILL);
	ASSERT_TRUE(monitor.waitFor([&] { return signals->removed.size() == 3; }));
	EXPECT_EQ(signals->removed.back().first, "/io/github/ipchub1/semaphore/solo");
}

TEST_F(PropertiesSignalTest, GetManagedObjectsListsLiveSemaphores)
{
	RawConnection raw(address());
	EXPECT_TRUE(managedObjects(raw).empty());
	auto client = connect();
	auto jobs = client.createSemaphore("jobs", 1);
	auto scoped = client.createSemaphore("jobs", 2, {.scope = "org.example.App"});
	ASSERT_TRUE(jobs && scoped);
	auto objects = managedObjects(raw);
	ASSERT_EQ(objects.size(), 2u);
	ASSERT_TRUE(objects.contains(sdbus::ObjectPath(jobs->path())));
	ASSERT_TRUE(objects.contains(sdbus::ObjectPath(scoped->path())));
	const auto &properties =
		objects.at(sdbus::ObjectPath(scoped->path())).at(kSemaphoreInterface);
	EXPECT_TRUE(has<std::string>(properties, "Key", "jobs"));
	EXPECT_TRUE(has<std::string>(properties, "Scope", "org.example.App"));
	EXPECT_TRUE(has<uint32_t>(properties, "Value", 2));

	ASSERT_TRUE(jobs->close());
	objects = managedObjects(raw);
	EXPECT_EQ(objects.size(), 1u);
	EXPECT_TRUE(objects.contains(sdbus::ObjectPath(scoped->path())));
}

} // namespace
} // namespace ipchub::test
