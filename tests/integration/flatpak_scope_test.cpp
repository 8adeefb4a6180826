// SPDX-License-Identifier: LGPL-2.1-or-later
// What an app listed in allowed_apps may do to another scope's objects, and what any
// sandboxed app learns of another scope, from inside the real Flatpak set-up (bubblewrap
// behind xdg-dbus-proxy, flatpak_sandbox.hpp): it uses what was shared with it, writes
// only where the creator said so, never removes or seals, sees other scopes' holders
// only by scope, and cannot tell a missing object from one it may not use.

#include "flatpak_sandbox.hpp"

#include <cstring>

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char *kApp = "org.example.App";
constexpr const char *kOtherApp = "org.example.Other";
constexpr const char *kManager = "/io/github/ipchub1";

class FlatpakScopeTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		if (auto why = sandboxUnavailable())
			GTEST_SKIP() << *why;
		IpchubTest::SetUp();
	}

	// A libipchub client inside app's sandbox, connected; its unique name in name.
	std::unique_ptr<Conversation> client(const FlatpakApp &app, std::string *name = nullptr)
	{
		auto conversation =
			std::make_unique<Conversation>(app.command({sandboxClientPath()}));
		const std::string connected = conversation->ask("connect");
		EXPECT_THAT(connected, StartsWith("ok :")) << app.appId();
		if (name)
			*name = connected.substr(3);
		return conversation;
	}

	// gdbus call from inside app's sandbox: its output, or the error's name and
	// message.
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
		return result.err.substr(start, result.err.find('\n', start) - start);
	}

	static std::string holders(const FlatpakApp &app, const std::string &path,
				   const std::string &interface)
	{
		return gdbus(app, path, "org.freedesktop.DBus.Properties.Get",
			     {interface, "Holders"});
	}
};

TEST_F(FlatpakScopeTest, AListedAppCannotRemoveOrSealOrWriteTheHostsObjects)
{
	auto host = connect();
	LockOptions lockOptions;
	lockOptions.persistent = true;
	lockOptions.allowedApps = {kApp};
	auto lock = host.createLock("db", lockOptions);
	ASSERT_TRUE(lock) << lock.error().message;
	auto held = lock->tryAcquire(LockMode::Exclusive);
	ASSERT_TRUE(held && *held);
	SemaphoreOptions semaphoreOptions;
	semaphoreOptions.persistent = true;
	semaphoreOptions.allowedApps = {kApp};
	auto jobs = host.createSemaphore("jobs", 1, semaphoreOptions);
	ASSERT_TRUE(jobs) << jobs.error().message;
	SharedMemoryOptions segmentOptions;
	segmentOptions.allowedApps = {kApp};
	auto frame = host.createSharedMemory("frame", 4096, segmentOptions);
	ASSERT_TRUE(frame) << frame.error().message;
	std::memcpy(frame->data().data(), "host-bytes", 10);

	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	// It may use them.
	EXPECT_EQ(inside->ask("open-lock db @host"), "ok /io/github/ipchub1/lock/db");
	EXPECT_EQ(inside->ask("open-sem jobs @host"), "ok /io/github/ipchub1/semaphore/jobs");
	EXPECT_EQ(inside->ask("open-shm frame @host ro"), "ok /io/github/ipchub1/shm/frame");
	EXPECT_EQ(inside->ask("read-shm frame 10"), "ok host-bytes");

	// Not end them, through the library or by hand.
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/lock/db"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/semaphore/jobs"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/shm/frame"),
		    StartsWith("error PermissionDenied"));
	EXPECT_THAT(gdbus(app, kManager, "io.github.ipchub1.Manager.Remove",
			  {"/io/github/ipchub1/lock/db"}),
		    StartsWith("io.github.ipchub1.Error.PermissionDenied"));
	auto again = connect();
	auto stillThere = again.openLock("db");
	ASSERT_TRUE(stillThere) << stillThere.error().message;
	auto blocked = stillThere->tryAcquire(LockMode::Exclusive);
	ASSERT_TRUE(blocked);
	EXPECT_FALSE(*blocked) << "the host still holds its lock";
	EXPECT_TRUE(again.openSemaphore("jobs"));

	// Nor seal the segment, nor write it: the creator gave read access (the default).
	EXPECT_THAT(inside->ask("seal-shm frame"), StartsWith("error PermissionDenied"));
	EXPECT_EQ(frame->sealed().value_or(true), false);
	EXPECT_THAT(inside->ask("open-shm frame @host rw"),
		    StartsWith("error PermissionDenied app org.example.App may only read"));
	EXPECT_THAT(gdbus(app, "/io/github/ipchub1/shm/frame",
			  "io.github.ipchub1.SharedMemory.Attach", {"true"}),
		    StartsWith("io.github.ipchub1.Error.PermissionDenied"));
	EXPECT_EQ(std::string(reinterpret_cast<const char *>(frame->constData().data()), 10),
		  "host-bytes");
}

TEST_F(FlatpakScopeTest, WriteAccessIsTheCreatorsChoiceAndNeverSealOrRemove)
{
	auto host = connect();
	SharedMemoryOptions options;
	options.allowedApps = {kApp};
	options.allowedAppsAccess = Access::ReadWrite;
	auto canvas = host.createSharedMemory("canvas", 4096, options);
	ASSERT_TRUE(canvas) << canvas.error().message;

	FlatpakApp app(address(), kApp);
	auto inside = client(app);
	EXPECT_EQ(inside->ask("open-shm canvas @host rw"), "ok /io/github/ipchub1/shm/canvas");
	EXPECT_EQ(inside->ask("write-shm canvas from-the-app"), "ok");
	EXPECT_TRUE(waitFor([&] {
		return std::string(reinterpret_cast<const char *>(canvas->constData().data()),
				   12) == "from-the-app";
	}));
	EXPECT_THAT(inside->ask("seal-shm canvas"), StartsWith("error PermissionDenied"));
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/shm/canvas"),
		    StartsWith("error PermissionDenied"));

	// Its own segment it seals and removes; an app it listed with write access may
	// write it, not seal it.
	EXPECT_THAT(inside->ask("create-shm mine 64 text org.example.Other"), StartsWith("ok"));
	FlatpakApp other(address(), kOtherApp);
	auto otherInside = client(other);
	EXPECT_THAT(otherInside->ask("open-shm mine org.example.App rw"),
		    StartsWith("error PermissionDenied"))
		<< "the library's default is read access";
	EXPECT_THAT(otherInside->ask("open-shm mine org.example.App ro"), StartsWith("ok"));
	EXPECT_THAT(otherInside->ask("seal-shm mine"), StartsWith("error PermissionDenied"));
	EXPECT_EQ(inside->ask("seal-shm mine"), "ok");
	EXPECT_EQ(inside->ask("remove /io/github/ipchub1/shm/org_2eexample_2eApp/mine"), "ok");

	// Anything but "read" and "write" is refused by name.
	auto refused =
		run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1", "--object-path",
		     kManager, "--method", "io.github.ipchub1.Manager.CreateSharedMemory", "x",
		     "16", "{'allowed_apps_access': <'admin'>}"});
	EXPECT_NE(refused.status, 0);
	EXPECT_THAT(refused.err, HasSubstr("InvalidArgument"));
	EXPECT_THAT(refused.err, HasSubstr("allowed_apps_access"));
}

TEST_F(FlatpakScopeTest, HoldersOfOtherScopesShowOnlyTheirScope)
{
	auto host = connect();
	LockOptions lockOptions;
	lockOptions.allowedApps = {kApp, kOtherApp};
	auto lock = host.createLock("db", lockOptions);
	ASSERT_TRUE(lock);
	SemaphoreOptions semaphoreOptions;
	semaphoreOptions.allowedApps = {kApp, kOtherApp};
	auto jobs = host.createSemaphore("jobs", 2, semaphoreOptions);
	ASSERT_TRUE(jobs);
	ASSERT_TRUE(jobs->acquire(1, std::chrono::microseconds(0)));
	const std::string hostName = host.uniqueName();

	FlatpakApp app(address(), kApp);
	FlatpakApp other(address(), kOtherApp);
	std::string appName;
	auto inside = client(app, &appName);
	auto otherInside = client(other);
	ASSERT_THAT(inside->ask("open-sem jobs @host"), StartsWith("ok"));
	ASSERT_EQ(inside->ask("acquire-sem jobs"), "ok");
	ASSERT_THAT(inside->ask("open-lock db @host"), StartsWith("ok"));
	ASSERT_EQ(inside->ask("lock db"), "ok");
	ASSERT_THAT(otherInside->ask("open-lock db @host"), StartsWith("ok"));

	const std::string sem = "/io/github/ipchub1/semaphore/jobs";
	const std::string lockPath = "/io/github/ipchub1/lock/db";
	// The app sees its own connection in full, the host only as "host".
	const std::string seenByApp = holders(app, sem, "io.github.ipchub1.Semaphore");
	EXPECT_THAT(seenByApp, HasSubstr("('host', "));
	EXPECT_THAT(seenByApp, HasSubstr("('" + appName + "', "));
	EXPECT_THAT(seenByApp, Not(HasSubstr(hostName)));
	// Another app sees neither unique name nor pid.
	const std::string seenByOther = holders(other, sem, "io.github.ipchub1.Semaphore");
	EXPECT_THAT(seenByOther, HasSubstr("('host', "));
	EXPECT_THAT(seenByOther, HasSubstr("('org.example.App', "));
	EXPECT_THAT(seenByOther, Not(HasSubstr(":1.")));
	const std::string lockSeenByOther = holders(other, lockPath, "io.github.ipchub1.Lock");
	EXPECT_THAT(lockSeenByOther,
		    HasSubstr("('org.example.App', 'exclusive', uint32 0, 'org.example.App'"));
	EXPECT_THAT(lockSeenByOther, Not(HasSubstr(":1.")));
	// The host sees everyone in full.
	auto fromHost =
		run({"gdbus", "call", "--session", "--dest", "io.github.ipchub1", "--object-path",
		     sem, "--method", "org.freedesktop.DBus.Properties.Get",
		     "io.github.ipchub1.Semaphore", "Holders"});
	EXPECT_THAT(fromHost.out, HasSubstr("('" + hostName + "', "));
	EXPECT_THAT(fromHost.out, HasSubstr("('" + appName + "', "));

	// PropertiesChanged carries the same view, per recipient.
	ASSERT_EQ(otherInside->ask("watch"), "ok");
	ASSERT_TRUE(jobs->release(1));
	const std::string heard = otherInside->ask("heard-until holders=");
	EXPECT_THAT(heard, HasSubstr(sem + " PropertiesChanged holders=org.example.App/0"));
	EXPECT_THAT(heard, Not(HasSubstr(":1.")));
	ASSERT_TRUE(jobs->acquire(1, std::chrono::microseconds(0)));
	const std::string heardHost = otherInside->ask("heard-until host/0");
	EXPECT_THAT(heardHost, HasSubstr("host/0"));
	EXPECT_THAT(heardHost, Not(HasSubstr(":1.")));
}

TEST_F(FlatpakScopeTest, OutsideItsScopeAnAppCannotTellMissingFromNotShared)
{
	FlatpakApp app(address(), kApp);
	FlatpakApp other(address(), kOtherApp);
	auto inside = client(app);
	auto otherInside = client(other);
	auto host = connect();

	// Each answer, asked before the object exists and again once it exists unshared.
	const std::vector<std::string> asks{"open-sem ghost @host", "open-shm ghost @host ro",
					    "open-lock ghost @host",
					    "open-sem spirit org.example.Other"};
	std::vector<std::string> missing;
	for (const auto &ask : asks)
		missing.push_back(inside->ask(ask));
	const std::string removeHost = "remove /io/github/ipchub1/semaphore/ghost";
	const std::string removeOther =
		"remove /io/github/ipchub1/lock/org_2eexample_2eOther/spirit";
	const std::string removedMissing = inside->ask(removeHost);
	const std::string removedOtherMissing = inside->ask(removeOther);
	const std::string gdbusMissing = gdbus(app, kManager, "io.github.ipchub1.Manager.Remove",
					       {"/io/github/ipchub1/semaphore/ghost"});

	// Kept: a non-persistent object goes with its last reference.
	auto semaphore = host.createSemaphore("ghost", 1);
	auto segment = host.createSharedMemory("ghost", 64);
	auto lock = host.createLock("ghost");
	ASSERT_TRUE(semaphore && segment && lock);
	ASSERT_THAT(otherInside->ask("create-sem spirit -"), StartsWith("ok"));
	ASSERT_THAT(otherInside->ask("create-lock spirit -"), StartsWith("ok"));

	for (size_t i = 0; i < asks.size(); ++i) {
		EXPECT_THAT(missing[i], StartsWith("error PermissionDenied")) << asks[i];
		EXPECT_EQ(inside->ask(asks[i]), missing[i]) << asks[i];
	}
	EXPECT_THAT(removedMissing, StartsWith("error PermissionDenied"));
	EXPECT_EQ(inside->ask(removeHost), removedMissing);
	EXPECT_EQ(inside->ask(removeOther), removedOtherMissing);
	EXPECT_EQ(gdbus(app, kManager, "io.github.ipchub1.Manager.Remove",
			{"/io/github/ipchub1/semaphore/ghost"}),
		  gdbusMissing);
	EXPECT_THAT(gdbusMissing, StartsWith("io.github.ipchub1.Error.PermissionDenied"));

	// In its own scope, what is missing is NotFound.
	EXPECT_THAT(inside->ask("open-sem ghost -"), StartsWith("error NotFound"));
	EXPECT_THAT(inside->ask("remove /io/github/ipchub1/semaphore/org_2eexample_2eApp/ghost"),
		    StartsWith("error NotFound"));
}

TEST_F(FlatpakScopeTest, OnlyTheObjectsOwnScopeGetsAFastPage)
{
	RawConnection host(address());
	auto manager = sdbus::createProxy(host.connection(), "io.github.ipchub1", kManager);
	sdbus::ObjectPath hostLock;
	manager->callMethod("CreateLock")
		.onInterface("io.github.ipchub1.Manager")
		.withArguments(std::string("fastdb"),
			       std::map<std::string, sdbus::Variant>{
				       {"fast", sdbus::Variant(true)},
				       {"persistent", sdbus::Variant(true)},
				       {"allowed_apps",
					sdbus::Variant(std::vector<std::string>{kApp})}})
		.storeResultsTo(hostLock);

	FlatpakApp app(address(), kApp);
	// A listed app uses the host's fast lock through the bus, never its page.
	EXPECT_THAT(gdbus(app, hostLock, "io.github.ipchub1.Lock.AttachFast"),
		    StartsWith("io.github.ipchub1.Error.PermissionDenied:"));
	EXPECT_THAT(gdbus(app, hostLock, "io.github.ipchub1.Lock.TryAcquire", {"exclusive"}),
		    HasSubstr("true"));
	// Its own fast lock's page is its own.
	const std::string created = gdbus(app, kManager, "io.github.ipchub1.Manager.CreateLock",
					  {"mine", "{'fast': <true>, 'persistent': <true>}"});
	ASSERT_THAT(created, HasSubstr("/io/github/ipchub1/lock/")) << created;
	const std::string appLock =
		created.substr(created.find("'/") + 1, created.find("',") - created.find("'/") - 1);
	EXPECT_THAT(gdbus(app, appLock, "io.github.ipchub1.Lock.AttachFast"),
		    StartsWith("(handle "))
		<< appLock;
	// The host may use the app's lock through the bus, not its page.
	auto proxy = sdbus::createProxy(host.connection(), "io.github.ipchub1", appLock);
	std::string refused;
	try {
		proxy->callMethod("AttachFast").onInterface("io.github.ipchub1.Lock");
	} catch (const sdbus::Error &e) {
		refused = e.getName();
	}
	EXPECT_EQ(refused, "io.github.ipchub1.Error.PermissionDenied");
	for (const auto &path : {std::string(hostLock), appLock})
		manager->callMethod("Remove")
			.onInterface("io.github.ipchub1.Manager")
			.withArguments(sdbus::ObjectPath(path));
}

} // namespace
} // namespace ipchub::test
