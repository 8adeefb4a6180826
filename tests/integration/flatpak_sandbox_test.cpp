// SPDX-License-Identifier: LGPL-2.1-or-later
// The real Flatpak setup: each app behind its own xdg-dbus-proxy (--filter
// --talk=io.github.ipchub1) in bubblewrap with a /.flatpak-info, and the app's
// processes in a second bubblewrap that reach the bus only through the proxy's socket.
// libipchub (the sandbox client) and gdbus run inside.

#include "flatpak_sandbox.hpp"

#include <cstdlib>
#include <cstring>

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char *kApp = "org.example.App";
constexpr const char *kOtherApp = "org.example.Other";
constexpr const char *kAppPrefix = "/io/github/ipchub1/semaphore/org_2eexample_2eApp/";

class FlatpakSandboxTest : public IpchubTest
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

	// A libipchub client inside app's sandbox, connected.
	std::unique_ptr<Conversation> client(const FlatpakApp &app)
	{
		auto conversation =
			std::make_unique<Conversation>(app.command({sandboxClientPath()}));
		const std::string connected = conversation->ask("connect");
		EXPECT_THAT(connected, StartsWith("ok :")) << app.appId();
		return conversation;
	}

	// gdbus call from inside app's sandbox; its output, or the error's D-Bus name.
	static std::string gdbus(const FlatpakApp &app, const std::string &path,
				 const std::string &method,
				 const std::vector<std::string> &args = {})
	{
		std::vector<std::string> argv{
			"gdbus",	 "call", "--session", "--dest", "io.github.ipchub1",
			"--object-path", path,	 "--method",  method};
		argv.insert(argv.end(), args.begin(), args.end());
		auto result = app.run(argv);
		if (result.status == 0)
			return result.out;
		const auto start = result.err.find("io.github.ipchub1.Error.");
		if (start == std::string::npos)
			return "failed: " + result.err;
		return result.err.substr(start, result.err.find(':', start) - start);
	}
};

TEST_F(FlatpakSandboxTest, TheLibraryWorksThroughTheProxyAndObjectsLandInTheAppScope)
{
	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	EXPECT_EQ(inside->ask("create-sem jobs -"), std::string("ok ") + kAppPrefix + "jobs");
	EXPECT_EQ(inside->ask("create-lock db -"),
		  "ok /io/github/ipchub1/lock/org_2eexample_2eApp/db");
	// Naming its own scope is the same as naming none.
	EXPECT_THAT(inside->ask("create-sem jobs org.example.App"),
		    StartsWith("error AlreadyExists"));

	// The host finds them in the app's scope, not in its own.
	auto host = connect();
	EXPECT_FALSE(host.openSemaphore("jobs"));
	auto jobs = host.openSemaphore("jobs", {.scope = kApp});
	ASSERT_TRUE(jobs) << jobs.error().message;
	EXPECT_EQ(jobs->path(), std::string(kAppPrefix) + "jobs");

	// gdbus (GDBus's own handshake, no relay) reaches ipchubd through the proxy too.
	EXPECT_THAT(gdbus(app, "/io/github/ipchub1", "io.github.ipchub1.Manager.OpenSemaphore",
			  {"jobs", "{}"}),
		    HasSubstr(std::string(kAppPrefix) + "jobs"));
}

// Persistent objects count against the app id that created them after Close, and
// each app id has a budget of its own, apart from the host's.
TEST_F(FlatpakSandboxTest, EachAppIdHasItsOwnPersistentBudget)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--persistent-objects-per-app=2"});
	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	EXPECT_THAT(inside->ask("create-persistent-sem a"), StartsWith("ok "));
	EXPECT_THAT(inside->ask("create-persistent-sem b"), StartsWith("ok "));
	const std::string refused = inside->ask("create-persistent-sem c");
	EXPECT_THAT(refused, StartsWith("error LimitExceeded"));
	EXPECT_THAT(refused, HasSubstr("app org.example.App"));
	EXPECT_THAT(refused, HasSubstr("persistent_objects_per_app is 2"));

	FlatpakApp other(address(), kOtherApp);
	auto second = client(other);
	EXPECT_THAT(second->ask("create-persistent-sem a"), StartsWith("ok "));
	EXPECT_THAT(second->ask("create-persistent-sem b"), StartsWith("ok "));
	auto host = connect();
	for (const char *key : {"a", "b", "c"})
		EXPECT_TRUE(host.createSemaphore(key, 1, {.persistent = true})) << key;
	// Removing one of the app's objects gives its budget a place back.
	ASSERT_TRUE(host.remove(std::string(kAppPrefix) + "a"));
	EXPECT_THAT(inside->ask("create-persistent-sem c"), StartsWith("ok "));
}

// ipchubctl is built on libipchub, so it goes through the relay too.
TEST_F(FlatpakSandboxTest, IpchubctlWorksThroughTheProxy)
{
	const char *ctl = std::getenv("IPCHUBCTL");
	ASSERT_NE(ctl, nullptr) << "IPCHUBCTL names the built ipchubctl";
	auto host = connect();
	auto privateSem = host.createSemaphore("host-only", 1);
	ASSERT_TRUE(privateSem);

	FlatpakApp app(address(), kApp);
	auto created = app.run({ctl, "sem", "create", "from-ctl", "--initial", "2"});
	EXPECT_EQ(created.status, 0) << created.err;
	auto status = app.run({ctl, "status", "semaphore", "from-ctl"});
	EXPECT_EQ(status.status, 0) << status.err;
	EXPECT_THAT(status.out, HasSubstr("Value=2"));
	auto locked = app.run({ctl, "lock", "ctl-lock", "--", "sh", "-c", "exit 3"});
	EXPECT_EQ(locked.status, 3) << locked.err;
	auto denied = app.run({ctl, "status", "semaphore", "host-only", "--scope", ""});
	EXPECT_EQ(denied.status, 1);
	EXPECT_THAT(denied.err, HasSubstr("may not"));

	// The host finds the semaphore in the app's scope.
	auto fromCtl = host.openSemaphore("from-ctl", {.scope = kApp});
	ASSERT_TRUE(fromCtl) << fromCtl.error().message;
	EXPECT_EQ(fromCtl->value().value_or(0), 2u);
}

TEST_F(FlatpakSandboxTest, HostObjectsAreOutOfReachUnlessShared)
{
	auto host = connect();
	auto privateSem = host.createSemaphore("private", 1);
	auto shared = host.createSemaphore("shared", 1, {.allowedApps = {kApp}});
	ASSERT_TRUE(privateSem && shared);

	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	EXPECT_THAT(inside->ask("open-sem private @host"), StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("open-sem missing @host"), StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("create-sem x @host"), StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/semaphore/private"),
		    StartsWith("error PermissionDenied"));
	// Its own scope: NotFound for what is not there.
	EXPECT_THAT(inside->ask("open-sem private -"), StartsWith("error NotFound"));

	EXPECT_EQ(inside->ask("open-sem shared @host"), "ok /io/github/ipchub1/semaphore/shared");
	EXPECT_EQ(inside->ask("acquire-sem shared"), "ok");
	EXPECT_TRUE(waitFor([&] { return shared->value().value_or(1) == 0; }));

	// Guessed paths: every method and property checks the caller.
	const std::string path = "/io/github/ipchub1/semaphore/private";
	EXPECT_EQ(gdbus(app, path, "io.github.ipchub1.Semaphore.Release", {"1"}),
		  "io.github.ipchub1.Error.PermissionDenied");
	EXPECT_EQ(gdbus(app, path, "org.freedesktop.DBus.Properties.Get",
			{"io.github.ipchub1.Semaphore", "Value"}),
		  "io.github.ipchub1.Error.PermissionDenied");
	EXPECT_EQ(privateSem->value().value(), 1u);
}

TEST_F(FlatpakSandboxTest, AListedAppMapsAHostSharedMemoryThroughTheProxy)
{
	auto host = connect();
	// Shared for writing too: listed apps only read unless the creator says so.
	auto frame = host.createSharedMemory("frame", 4096,
					     {.allowedApps = {kApp},
					      .allowedAppsAccess = Access::ReadWrite});
	ASSERT_TRUE(frame) << frame.error().message;
	const std::string text = "written-by-the-host";
	std::memcpy(frame->data().data(), text.data(), text.size());

	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	// The fd crosses dbus-daemon, the proxy and the library's relay.
	EXPECT_EQ(inside->ask("open-shm frame @host rw"), "ok /io/github/ipchub1/shm/frame");
	EXPECT_EQ(inside->ask("read-shm frame " + std::to_string(text.size())), "ok " + text);
	EXPECT_EQ(inside->ask("write-shm frame written-by-the-app"), "ok");
	EXPECT_TRUE(waitFor([&] {
		return std::string(reinterpret_cast<const char *>(frame->constData().data()), 18) ==
		       "written-by-the-app";
	}));

	// And the other way: the app's own shared-memory object, shared with nobody, seen by the
	// host.
	EXPECT_EQ(inside->ask("create-shm mine 100 from-inside"),
		  "ok /io/github/ipchub1/shm/org_2eexample_2eApp/mine");
	auto mine = host.openSharedMemory("mine", Access::ReadOnly, {.scope = kApp});
	ASSERT_TRUE(mine) << mine.error().message;
	EXPECT_EQ(std::string(reinterpret_cast<const char *>(mine->constData().data()), 11),
		  "from-inside");
}

TEST_F(FlatpakSandboxTest, AnotherAppCannotTouchTheAppsObjects)
{
	FlatpakApp app(address(), kApp);
	FlatpakApp other(address(), kOtherApp);
	auto inside = client(app);
	ASSERT_THAT(inside->ask("create-sem jobs -"), StartsWith("ok"));
	ASSERT_THAT(inside->ask("create-shm frame 64 secret"), StartsWith("ok"));
	ASSERT_THAT(inside->ask("create-lock db -"), StartsWith("ok"));
	ASSERT_THAT(inside->ask("create-sem for-other - org.example.Other"), StartsWith("ok"));

	auto intruder = client(other);
	EXPECT_THAT(intruder->ask("open-sem jobs org.example.App"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(intruder->ask("open-shm frame org.example.App ro"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(intruder->ask("create-sem jobs org.example.App"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(intruder->ask("create-lock db org.example.App"),
		    StartsWith("error PermissionDenied"));
	// Its own scope is another: the same key is a different object there.
	EXPECT_EQ(intruder->ask("create-sem jobs -"),
		  "ok /io/github/ipchub1/semaphore/org_2eexample_2eOther/jobs");
	// What the app shared with it, it may use.
	EXPECT_EQ(intruder->ask("open-sem for-other org.example.App"),
		  std::string("ok ") + kAppPrefix + "for_2dother");

	// Guessed paths: methods and property reads alike.
	const std::string sem = std::string(kAppPrefix) + "jobs";
	const std::string shm = "/io/github/ipchub1/shm/org_2eexample_2eApp/frame";
	const std::string lock = "/io/github/ipchub1/lock/org_2eexample_2eApp/db";
	const std::string denied = "io.github.ipchub1.Error.PermissionDenied";
	EXPECT_EQ(gdbus(other, sem, "io.github.ipchub1.Semaphore.Acquire", {"1", "0"}), denied);
	EXPECT_EQ(gdbus(other, sem, "io.github.ipchub1.Semaphore.Release", {"1"}), denied);
	EXPECT_EQ(gdbus(other, sem, "io.github.ipchub1.Semaphore.Close"), denied);
	EXPECT_EQ(gdbus(other, shm, "io.github.ipchub1.SharedMemory.Attach", {"false"}), denied);
	EXPECT_EQ(gdbus(other, shm, "io.github.ipchub1.SharedMemory.Seal"), denied);
	EXPECT_EQ(gdbus(other, lock, "io.github.ipchub1.Lock.TryAcquire", {"exclusive"}), denied);
	EXPECT_EQ(gdbus(other, "/io/github/ipchub1", "io.github.ipchub1.Manager.Remove", {sem}),
		  denied);
	for (const auto &[path, interface] :
	     std::vector<std::pair<std::string, std::string>>{{sem, "io.github.ipchub1.Semaphore"},
							      {shm,
							       "io.github.ipchub1.SharedMemory"},
							      {lock, "io.github.ipchub1.Lock"}}) {
		EXPECT_EQ(gdbus(other, path, "org.freedesktop.DBus.Properties.Get",
				{interface, "Key"}),
			  denied)
			<< path;
		EXPECT_EQ(gdbus(other, path, "org.freedesktop.DBus.Properties.GetAll", {interface}),
			  denied)
			<< path;
	}
	// The app itself still may.
	EXPECT_THAT(gdbus(app, sem, "org.freedesktop.DBus.Properties.Get",
			  {"io.github.ipchub1.Semaphore", "Key"}),
		    HasSubstr("'jobs'"));
	EXPECT_EQ(inside->ask("lock db"), "ok");
}

} // namespace
} // namespace ipchub::test
