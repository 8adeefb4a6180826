// What a sandboxed app behind xdg-dbus-proxy --filter --talk=io.github.ipchub1 learns
// of objects it may not see: the proxy hands it every broadcast signal of a name it may
// talk to, so ipchubd sends the signals about an object (InterfacesAdded/Removed,
// PropertiesChanged) only to the peers that may see it, one copy each.

#include "flatpak_sandbox.hpp"

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
		IpchubTest::SetUp();
	}

	static std::unique_ptr<Conversation> client(const FlatpakApp &app)
	{
		auto conversation =
			std::make_unique<Conversation>(app.command({sandboxClientPath()}));
		EXPECT_THAT(conversation->ask("connect"), StartsWith("ok :"));
		return conversation;
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

TEST_F(FlatpakVisibilityTest, ManagedObjectsAreForTheHostOnly)
{
	FlatpakApp app(address(), "org.example.App");
	FlatpakApp other(address(), "org.example.Other");
	auto host = connect();
	auto hostSecret = host.createSemaphore("host-secret", 1);
	auto forOther =
		host.createSemaphore("for-other", 1, {.allowedApps = {"org.example.Other"}});
	ASSERT_TRUE(hostSecret && forOther);
	auto first = client(app);
	ASSERT_THAT(first->ask("create-sem app-secret -"), StartsWith("ok"));
	auto inside = client(other);
	ASSERT_THAT(inside->ask("create-sem mine -"), StartsWith("ok"));

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

	// What remains (README.md, "What a sandboxed app sees of other scopes"): sd-bus answers Introspect of a kind's node with
	// its child nodes, the labels of host keys and of app ids, and sdbus-c++ 1.2 gives
	// no way to answer it differently per caller.
	auto nodes = other.run({"gdbus", "introspect", "--session", "--dest", "io.github.ipchub1",
				"--object-path", "/io/github/ipchub1/semaphore"});
	EXPECT_THAT(nodes.out, HasSubstr("node host_2dsecret"));
	EXPECT_THAT(nodes.out, HasSubstr("node org_2eexample_2eApp"));
	// One level down, the keys of the other app's scope; their properties stay refused.
	auto keys =
		other.run({"gdbus", "introspect", "--session", "--dest", "io.github.ipchub1",
			   "--object-path", "/io/github/ipchub1/semaphore/org_2eexample_2eApp"});
	EXPECT_THAT(keys.out, HasSubstr("node app_2dsecret"));
}

} // namespace
} // namespace ipchub::test
