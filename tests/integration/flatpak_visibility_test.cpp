// SPDX-License-Identifier: LGPL-2.1-or-later
// What a sandboxed app behind xdg-dbus-proxy --filter --talk=io.github.ipchub1 learns
// of objects it may not see: the proxy hands it every broadcast signal of a name it may
// talk to, so ipchubd sends the signals about an object (InterfacesAdded/Removed,
// PropertiesChanged) only to the peers that may see it, one copy each; and sd-bus
// would answer Introspect and more from its table of objects, so ipchubd's PathGuard
// refuses a sandboxed caller every path it may not reach, whatever is there.

#include "flatpak_sandbox.hpp"

#include <optional>
#include <set>

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class FlatpakVisibilityTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		if (auto why = sandboxUnavailable())
			GTEST_SKIP() << *why;
		if (auto error = sandboxStartError())
			FAIL() << *error;
		IpchubTest::SetUp();
	}

	// gdbus introspecting path on ipchubd, for run() inside a sandbox or on the host.
	static std::vector<std::string> introspect(const std::string &path)
	{
		return {"gdbus",	 "introspect", "--session", "--dest", "io.github.ipchub1",
			"--object-path", path};
	}

	static std::unique_ptr<Conversation> client(const FlatpakApp &app)
	{
		auto conversation =
			std::make_unique<Conversation>(app.command({sandboxClientPath()}));
		EXPECT_THAT(conversation->ask("connect"), StartsWith("ok :"));
		return conversation;
	}

	// Semaphores in every scope: the host's "host-secret", "for-other" and
	// "org.example.App" (both shared with org.example.Other; the latter's path is also
	// org.example.App's scope node), org.example.App's "app-secret" and "app-shared"
	// (shared with org.example.Other), org.example.Other's "mine".
	struct EveryScope {
		std::unique_ptr<FlatpakApp> app, other;
		std::optional<Client> host;
		std::optional<Semaphore> hostSecret, forOther, namedAsApp;
		std::unique_ptr<Conversation> first, inside;
	};
	EveryScope semaphoresInEveryScope()
	{
		EveryScope scopes;
		scopes.app = std::make_unique<FlatpakApp>(address(), "org.example.App");
		scopes.other = std::make_unique<FlatpakApp>(address(), "org.example.Other");
		scopes.host = connect();
		auto hostSecret = scopes.host->createSemaphore("host-secret", 1);
		auto forOther =
			scopes.host->createSemaphore("for-other", 1,
						     {.allowedApps = {"org.example.Other"}});
		auto namedAsApp =
			scopes.host->createSemaphore("org.example.App", 1,
						     {.allowedApps = {"org.example.Other"}});
		EXPECT_TRUE(hostSecret && forOther && namedAsApp);
		if (hostSecret && forOther && namedAsApp) {
			scopes.hostSecret = std::move(*hostSecret);
			scopes.forOther = std::move(*forOther);
			scopes.namedAsApp = std::move(*namedAsApp);
		}
		scopes.first = client(*scopes.app);
		EXPECT_THAT(scopes.first->ask("create-sem app-secret -"), StartsWith("ok"));
		EXPECT_THAT(scopes.first->ask("create-sem app-shared - org.example.Other"),
			    StartsWith("ok"));
		scopes.inside = client(*scopes.other);
		EXPECT_THAT(scopes.inside->ask("create-sem mine -"), StartsWith("ok"));
		return scopes;
	}
};

TEST_F(FlatpakVisibilityTest, SignalsReachOnlyTheAppsThatMaySeeTheObject)
{
	FlatpakApp app(address(), "org.example.App");
	FlatpakApp other(address(), "org.example.Other");
	auto inside = client(other);
	ASSERT_THAT(inside->ask("create-sem mine -"), StartsWith("ok"));
	// A second connection of the app, known to ipchubd, listening to every signal.
	ASSERT_EQ(inside->ask("watch"), "ok");

	auto host = connect();
	auto hostSecret = host.createSemaphore("host-secret", 2);
	ASSERT_TRUE(hostSecret);
	ASSERT_TRUE(hostSecret->acquire(1, 0us));
	auto forOther =
		host.createSemaphore("for-other", 1, {.allowedApps = {"org.example.Other"}});
	ASSERT_TRUE(forOther);
	ASSERT_TRUE(forOther->acquire(1, 0us));
	auto first = client(app);
	ASSERT_THAT(first->ask("create-sem app-secret -"), StartsWith("ok"));
	ASSERT_EQ(first->ask("acquire-sem app-secret"), "ok");
	ASSERT_THAT(first->ask("create-shm app-frame 64 x"), StartsWith("ok"));
	first.reset();
	ASSERT_TRUE(hostSecret->close());
	// The last event: the app's own semaphore changes.
	ASSERT_EQ(inside->ask("acquire-sem mine"), "ok");
	const std::string heard =
		inside->ask("heard-until org_2eexample_2eOther/mine PropertiesChanged");

	EXPECT_THAT(heard, HasSubstr("/io/github/ipchub1/semaphore/org_2eexample_2eOther/mine "
				     "PropertiesChanged"));
	// What it may see, it hears of.
	EXPECT_THAT(heard, HasSubstr("/io/github/ipchub1 InterfacesAdded "
				     "/io/github/ipchub1/semaphore/for_2dother"));
	EXPECT_THAT(heard, HasSubstr("/io/github/ipchub1/semaphore/for_2dother PropertiesChanged"));
	// Nothing of the host's or the other app's objects.
	EXPECT_THAT(heard, Not(HasSubstr("secret")));
	EXPECT_THAT(heard, Not(HasSubstr("org_2eexample_2eApp")));
	EXPECT_THAT(heard, Not(HasSubstr("app_2dframe")));
}

// A sandboxed connection is told of an object once it has shown interest in it (here,
// GetAll): of a host object shared with the app that it never read, it hears nothing,
// and of a host object not shared with it, nothing either.
TEST_F(FlatpakVisibilityTest, AnAppHearsNothingOfHostObjectsItDidNotRead)
{
	auto host = connect();
	const std::vector<std::string> shared{"org.example.Other"};
	auto unread = host.createSemaphore("unread", 2, {.allowedApps = shared});
	auto read = host.createSemaphore("read", 2, {.allowedApps = shared});
	auto hostSecret = host.createSemaphore("host-secret", 2);
	ASSERT_TRUE(unread && read && hostSecret);
	FlatpakApp other(address(), "org.example.Other");
	auto inside = client(other);
	ASSERT_EQ(inside->ask("listen"), "ok");
	EXPECT_EQ(inside->ask("listen-read " + read->path() + " io.github.ipchub1.Semaphore"),
		  "ok 8");

	// A host connection that read both hears their changes: ipchubd has sent theirs
	// before read changes, so the app would have heard them first.
	RawConnection monitor(address());
	std::set<std::string> heardByHost;
	monitor.addMatch("type='signal',member='PropertiesChanged'",
			 [&](sdbus::Message &message) { heardByHost.insert(message.getPath()); });
	monitor.value(unread->path());
	monitor.value(hostSecret->path());
	ASSERT_TRUE(unread->acquire(1, 0us));
	ASSERT_TRUE(hostSecret->acquire(1, 0us));
	ASSERT_TRUE(monitor.waitFor([&] {
		return heardByHost.contains(unread->path()) &&
		       heardByHost.contains(hostSecret->path());
	}));
	ASSERT_TRUE(read->acquire(1, 0us));
	const std::string heard = inside->ask("heard-until semaphore/read PropertiesChanged");

	EXPECT_THAT(heard, HasSubstr("/io/github/ipchub1/semaphore/read PropertiesChanged"));
	EXPECT_THAT(heard, Not(HasSubstr("unread")));
	EXPECT_THAT(heard, Not(HasSubstr("secret")));
}

// ipchubd asks a connection with unread signals whether it read them (Peer.Ping),
// through xdg-dbus-proxy too; a sandboxed app that reads late gets what was held back.
TEST_F(FlatpakVisibilityTest, SignalsHeldBackForAnAppComeOnceItReads)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--unread-signals-per-connection=4"});
	auto host = connect();
	auto shared = host.createSemaphore("read", 1, {.allowedApps = {"org.example.Other"}});
	ASSERT_TRUE(shared);
	FlatpakApp other(address(), "org.example.Other");
	auto inside = client(other);
	ASSERT_EQ(inside->ask("listen"), "ok");
	ASSERT_EQ(inside->ask("listen-read " + shared->path() + " io.github.ipchub1.Semaphore"),
		  "ok 8");

	// Ten changes, one signal each (a host reader hears each before the next), while
	// the app reads nothing: four go out, the rest are held back.
	RawConnection monitor(address());
	int heardByHost = 0;
	monitor.addMatch("type='signal',member='PropertiesChanged'",
			 [&](sdbus::Message &) { ++heardByHost; });
	monitor.value(shared->path());
	for (int i = 1; i <= 10; ++i) {
		ASSERT_TRUE(i % 2 ? shared->acquire(1, 0us) : shared->release(1));
		ASSERT_TRUE(monitor.waitFor([&] { return heardByHost == i; }));
	}
	// Reading, it answers the Ping through the proxy, and is sent one signal with the
	// latest values: a fifth.
	EXPECT_EQ(inside->ask("heard-count semaphore/read 5"), "ok 5");
}

TEST_F(FlatpakVisibilityTest, ManagedObjectsAreForTheHostOnly)
{
	const auto scopes = semaphoresInEveryScope();
	ASSERT_FALSE(HasFailure());
	const FlatpakApp &other = *scopes.other;

	// sd-bus would list every object: a sandboxed app is refused, and told nothing.
	auto managed = other.run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1",
				  "--object-path", "/io/github/ipchub1", "--method",
				  "org.freedesktop.DBus.ObjectManager.GetManagedObjects"});
	EXPECT_NE(managed.status, 0);
	EXPECT_THAT(managed.err, HasSubstr("io.github.ipchub1.Error.PermissionDenied: "
					   "GetManagedObjects lists every scope"));
	EXPECT_THAT(managed.out + managed.err, Not(HasSubstr("secret")));

	// The host sees them all.
	auto all = run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1",
			"--object-path", "/io/github/ipchub1", "--method",
			"org.freedesktop.DBus.ObjectManager.GetManagedObjects"});
	EXPECT_EQ(all.status, 0) << all.err;
	EXPECT_THAT(all.out, HasSubstr("host_2dsecret"));
	EXPECT_THAT(all.out, HasSubstr("app_2dsecret"));

	// Introspect of a kind's node would list the labels of every scope: refused.
	auto nodes = other.run(introspect("/io/github/ipchub1/semaphore"));
	EXPECT_NE(nodes.status, 0);
	EXPECT_THAT(nodes.err, HasSubstr("io.github.ipchub1.Error.PermissionDenied"));
	EXPECT_THAT(nodes.out + nodes.err, Not(HasSubstr("secret")));
	EXPECT_THAT(nodes.out + nodes.err, Not(HasSubstr("org_2eexample_2eApp")));
	// The host still sees them all.
	auto hostNodes = run(introspect("/io/github/ipchub1/semaphore"));
	EXPECT_THAT(hostNodes.out, HasSubstr("node host_2dsecret"));
	EXPECT_THAT(hostNodes.out, HasSubstr("node org_2eexample_2eApp"));
}

// Whatever a sandboxed app calls on a path of another scope (Introspect, Properties,
// Peer, the object's own methods) gets one refusal, whether an object is there or not;
// its own scope's node and the objects shared with it answer as usual.
TEST_F(FlatpakVisibilityTest, OtherScopesPathsAnswerAlikeWhetherAnObjectIsThereOrNot)
{
	const auto scopes = semaphoresInEveryScope();
	ASSERT_FALSE(HasFailure());
	const FlatpakApp &other = *scopes.other;

	const std::string node = "/io/github/ipchub1/semaphore";
	// What a call on path gets from inside the sandbox, "call <path>:" made "call PATH:".
	const auto answer = [&](const std::vector<std::string> &call, const std::string &path) {
		std::vector<std::string> argv = {
			"gdbus",	 "call", "--session", "--dest", "io.github.ipchub1",
			"--object-path", path,	 "--method"};
		argv.insert(argv.end(), call.begin(), call.end());
		auto result = other.run(argv);
		std::string said = result.status == 0 ? "ok " + result.out : result.err;
		const std::string named = "call " + path + ":";
		if (const size_t at = said.find(named); at != std::string::npos)
			said.replace(at, named.size(), "call PATH:");
		return said;
	};
	const std::vector<std::vector<std::string>> calls = {
		{"org.freedesktop.DBus.Introspectable.Introspect"},
		{"org.freedesktop.DBus.Properties.GetAll", "io.github.ipchub1.Semaphore"},
		{"org.freedesktop.DBus.Peer.Ping"},
		{"io.github.ipchub1.Semaphore.TryAcquire", "uint32 1"},
	};
	for (const auto &call : calls) {
		SCOPED_TRACE(call[0]);
		const std::string there = answer(call, node + "/org_2eexample_2eApp/app_2dsecret");
		EXPECT_THAT(there, HasSubstr("io.github.ipchub1.Error.PermissionDenied: app "
					     "org.example.Other may not call PATH"));
		EXPECT_EQ(answer(call, node + "/org_2eexample_2eApp/nothing_2dhere"), there);
		EXPECT_EQ(answer(call, node + "/host_2dsecret"), there);
		EXPECT_EQ(answer(call, node + "/nothing_2dhere"), there);
		EXPECT_EQ(answer(call, node), there);
		// The same labels escaped otherwise (sd-bus would decode them alike).
		EXPECT_EQ(answer(call, node + "/org_2Eexample_2EApp/app_2dsecret"), there);
		EXPECT_EQ(answer(call, node + "/org_2eexample_2eApp/app_2Dshared"), there);
	}
	// The host's "org.example.App", shared with it, answers; but its path is
	// org.example.App's scope node, whose Introspect would list that app's keys.
	const std::string namedAsApp = node + "/org_2eexample_2eApp";
	EXPECT_THAT(answer({"io.github.ipchub1.Semaphore.TryAcquire", "uint32 1"}, namedAsApp),
		    StartsWith("ok ("));
	EXPECT_EQ(answer({"org.freedesktop.DBus.Introspectable.Introspect"}, namedAsApp),
		  answer({"org.freedesktop.DBus.Introspectable.Introspect"}, node));
	// The other kinds' nodes, and other scopes there, likewise.
	for (const std::string kind : {"/io/github/ipchub1/shm", "/io/github/ipchub1/lock"})
		for (const std::string &path : {kind, kind + "/org_2eexample_2eApp/x", kind + "/x"})
			EXPECT_THAT(
				answer({"org.freedesktop.DBus.Introspectable.Introspect"}, path),
				HasSubstr("io.github.ipchub1.Error.PermissionDenied: app "
					  "org.example.Other may not call PATH: a sandboxed app "
					  "reaches " +
					  kind + "/org_2eexample_2eOther and"));

	// Its own scope's node lists its own keys; its object and the ones shared with it
	// answer.
	auto own = other.run(introspect(node + "/org_2eexample_2eOther"));
	EXPECT_EQ(own.status, 0) << own.err;
	EXPECT_THAT(own.out, HasSubstr("node mine"));
	for (const std::string &path : {node + "/org_2eexample_2eOther/mine", node + "/for_2dother",
					node + "/org_2eexample_2eApp/app_2dshared"}) {
		SCOPED_TRACE(path);
		auto introspected = other.run(introspect(path));
		EXPECT_EQ(introspected.status, 0) << introspected.err;
		EXPECT_THAT(introspected.out, HasSubstr("interface io.github.ipchub1.Semaphore"));
		EXPECT_THAT(answer({"io.github.ipchub1.Semaphore.TryAcquire", "uint32 1"}, path),
			    StartsWith("ok ("));
	}
	// A path in its own scope with no object there: sd-bus's own answer.
	EXPECT_THAT(answer({"io.github.ipchub1.Semaphore.TryAcquire", "uint32 1"},
			   node + "/org_2eexample_2eOther/nothing_2dhere"),
		    HasSubstr("org.freedesktop.DBus.Error.UnknownObject"));
}

} // namespace
} // namespace ipchub::test
