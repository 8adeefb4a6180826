// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubd itself: the Manager's Version and Limits, the limits in force, one daemon
// per bus, and a clean exit on SIGTERM and SIGINT.

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using DaemonTest = IpchubTest;

constexpr const char *kManager = "/io/github/ipchub1";
constexpr const char *kManagerInterface = "io.github.ipchub1.Manager";

std::map<std::string, sdbus::Variant> limits(RawConnection &raw)
{
	return raw.property(kManager, kManagerInterface, "Limits")
		.get<std::map<std::string, sdbus::Variant>>();
}

TEST_F(DaemonTest, VersionProperty)
{
	RawConnection raw(address());
	EXPECT_EQ(raw.property(kManager, kManagerInterface, "Version").get<std::string>(),
		  IPCHUB_VERSION);
	auto shown = run({"busctl", "--user", "get-property", "io.github.ipchub1", kManager,
			  kManagerInterface, "Version"});
	EXPECT_EQ(shown.out, "s \"" IPCHUB_VERSION "\"\n") << shown.err;
}

TEST_F(DaemonTest, LimitsPropertyShowsTheDefaults)
{
	RawConnection raw(address());
	auto shown = limits(raw);
	std::map<std::string, std::string> types;
	for (const auto &[name, value] : shown)
		types[name] = value.peekValueType();
	EXPECT_EQ(types, (std::map<std::string, std::string>{{"key_length", "u"},
							     {"objects_per_connection", "u"},
							     {"waiters_per_object", "u"},
							     {"waits_per_connection", "u"},
							     {"segment_size", "t"},
							     {"bytes_per_connection", "t"},
							     {"interested_peers_per_object", "u"},
							     {"interests_per_connection", "u"},
							     {"unread_signals_per_connection", "u"},
							     {"grants_per_connection", "u"},
							     {"grants_total", "u"},
							     {"handles_per_connection", "u"},
							     {"handles_total", "u"},
							     {"descriptor_reserve", "u"},
							     {"objects_per_uid", "u"},
							     {"objects_per_app", "u"},
							     {"waits_per_uid", "u"},
							     {"waits_per_app", "u"},
							     {"grants_per_uid", "u"},
							     {"grants_per_app", "u"},
							     {"bytes_per_uid", "t"},
							     {"bytes_per_app", "t"},
							     {"persistent_objects_per_uid", "u"},
							     {"persistent_objects_per_app", "u"},
							     {"persistent_bytes_per_uid", "t"},
							     {"persistent_bytes_per_app", "t"},
							     {"state_bytes", "t"},
							     {"fd_store_max", "u"},
							     {"fast_units_max", "u"},
							     {"fast_waits_total", "u"}}));
	EXPECT_EQ(shown.at("key_length").get<uint32_t>(), 255u);
	EXPECT_EQ(shown.at("fd_store_max").get<uint32_t>(), 4096u);
	EXPECT_EQ(shown.at("fast_waits_total").get<uint32_t>(), 1016u);
	EXPECT_EQ(shown.at("fast_units_max").get<uint32_t>(), 1024u);
	EXPECT_GT(shown.at("objects_per_connection").get<uint32_t>(), 0u);
	EXPECT_GT(shown.at("waiters_per_object").get<uint32_t>(), 0u);
	EXPECT_GT(shown.at("waits_per_connection").get<uint32_t>(), 0u);
}

TEST_F(DaemonTest, LimitsFromTheCommandLineAreShownAndEnforced)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--objects-per-connection=2", "--waits-per-connection=1",
		     "--waiters-per-object=2"});
	RawConnection raw(address());
	auto shown = limits(raw);
	EXPECT_EQ(shown.at("objects_per_connection").get<uint32_t>(), 2u);
	EXPECT_EQ(shown.at("waits_per_connection").get<uint32_t>(), 1u);
	EXPECT_EQ(shown.at("waiters_per_object").get<uint32_t>(), 2u);

	// Objects: creating and opening both count; a Close gives one back.
	auto client = connect();
	auto one = client.createSemaphore("one", 0);
	auto two = client.createSemaphore("two", 0);
	ASSERT_TRUE(one && two);
	auto three = client.createSemaphore("three", 0);
	ASSERT_FALSE(three);
	EXPECT_EQ(three.error().code, ErrorCode::LimitExceeded) << three.error().message;
	auto other = connect();
	auto kept = other.createSemaphore("other", 0);
	ASSERT_TRUE(kept);
	auto opened = client.openSemaphore("other");
	ASSERT_FALSE(opened);
	EXPECT_EQ(opened.error().code, ErrorCode::LimitExceeded) << opened.error().message;
	ASSERT_TRUE(two->close());
	EXPECT_TRUE(client.openSemaphore("other"));

	// Waits per connection, then waiters per object.
	auto first = raw.acquireAsync(one->path(), 1, UINT64_MAX);
	auto second = raw.acquireAsync(one->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return second->done; }));
	EXPECT_EQ(second->error, errorName("LimitExceeded")) << second->message;
	RawConnection another(address());
	auto third = another.acquireAsync(one->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(one->path()) == 2; }));
	RawConnection late(address());
	auto fourth = late.acquireAsync(one->path(), 1, UINT64_MAX);
	ASSERT_TRUE(late.waitFor([&] { return fourth->done; }));
	EXPECT_EQ(fourth->error, errorName("LimitExceeded")) << fourth->message;

	// Served waits give their place back.
	ASSERT_TRUE(one->release(2));
	ASSERT_TRUE(raw.waitFor([&] { return first->done; }));
	ASSERT_TRUE(another.waitFor([&] { return third->done; }));
	EXPECT_EQ(first->error, "");
	EXPECT_EQ(third->error, "");
	auto again = raw.acquireAsync(one->path(), 1, 100'000);
	ASSERT_TRUE(raw.waitFor([&] { return again->done; }));
	EXPECT_EQ(again->error, errorName("Timeout")) << again->message;
}

TEST_F(DaemonTest, SecondDaemonOnTheSameBusExitsWithStatus1AndOneLine)
{
	auto result = run({ipchubdPath()}, 10s);
	EXPECT_EQ(result.status, 1);
	ASSERT_FALSE(result.err.empty());
	EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << result.err;
	EXPECT_NE(result.err.find("io.github.ipchub1"), std::string::npos) << result.err;
	// The first one still serves.
	EXPECT_TRUE(nameOwned());
	auto client = connect();
	EXPECT_TRUE(client.createSemaphore("jobs", 1));
}

TEST_F(DaemonTest, SigtermEndsItWithStatus0EvenWithWaitsQueued)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(semaphore->acquire(1, 0us));
	RawConnection raw(address());
	auto wait = raw.acquireAsync(semaphore->path(), 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 1; }));
	EXPECT_EQ(stopDaemon(SIGTERM), 0);
	EXPECT_FALSE(nameOwned());
	// The waiter hears that the service is gone rather than waiting for ever.
	EXPECT_TRUE(raw.waitFor([&] { return wait->done; }));
	EXPECT_NE(wait->error, "");
}

TEST_F(DaemonTest, SigintEndsItWithStatus0)
{
	EXPECT_EQ(stopDaemon(SIGINT), 0);
	EXPECT_FALSE(nameOwned());
	// And a new one can take its place.
	startDaemon();
	EXPECT_TRUE(connect().createSemaphore("jobs", 1));
}

} // namespace
} // namespace ipchub::test
