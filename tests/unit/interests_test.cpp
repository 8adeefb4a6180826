// SPDX-License-Identifier: LGPL-2.1-or-later
// Who is told of each object's changes, with no bus: the bounds, the scopes, and
// what a departure or a removed object leaves behind.

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "bus/interests.hpp"

namespace ipchub::bus {
namespace {

std::vector<std::string> recipients(const Interests &interests, const std::string &path)
{
	std::vector<std::string> names;
	interests.forEachRecipient(path, [&](const std::string &name) { names.push_back(name); });
	std::sort(names.begin(), names.end());
	return names;
}

Peer peer(const std::string &name, const std::string &appId = "")
{
	return Peer{.name = name, .uid = 0, .pid = 0, .appId = appId};
}

TEST(Interests, PeersAreBoundedPerObjectAndPerConnection)
{
	core::Limits limits;
	limits.interestedPeersPerObject = 2;
	limits.interestsPerConnection = 2;
	Interests interests(limits);
	const core::ObjectInfo a{{"", "a"}, {}}, b{{"", "b"}, {}}, c{{"", "c"}, {}};
	interests.addObject("/a", a);
	interests.addObject("/b", b);
	interests.addObject("/c", c);

	EXPECT_TRUE(interests.join("/a", peer(":1.1")));
	EXPECT_TRUE(interests.join("/a", peer(":1.2")));
	EXPECT_TRUE(interests.join("/a", peer(":1.2")));
	EXPECT_FALSE(interests.join("/a", peer(":1.3")));
	EXPECT_EQ(recipients(interests, "/a"), (std::vector<std::string>{":1.1", ":1.2"}));

	EXPECT_TRUE(interests.join("/b", peer(":1.1")));
	EXPECT_FALSE(interests.join("/c", peer(":1.1")));
	EXPECT_FALSE(interests.watch(peer(":1.1")));
	EXPECT_EQ(interests.interestsOf(":1.1"), 2u);
	EXPECT_FALSE(interests.join("/nowhere", peer(":1.4")));
	EXPECT_EQ(interests.interestsOf(":1.4"), 0u);
}

TEST(Interests, WatchersHearOfWhatTheyMaySeeOnce)
{
	core::Limits limits;
	Interests interests(limits);
	const core::ObjectInfo host{{"", "k"}, {}}, shared{{"", "s"}, {"org.example.App"}},
		app{{"org.example.App", "k"}, {}};
	interests.addObject("/host", host);
	interests.addObject("/shared", shared);
	interests.addObject("/app", app);
	EXPECT_TRUE(interests.watch(peer(":1.1")));
	EXPECT_TRUE(interests.watch(peer(":1.2", "org.example.App")));
	EXPECT_TRUE(interests.join("/host", peer(":1.1")));
	// A sandboxed peer neither joins nor, watching, hears of a host object.
	EXPECT_FALSE(interests.join("/host", peer(":1.2", "org.example.App")));
	EXPECT_EQ(recipients(interests, "/host"), (std::vector<std::string>{":1.1"}));
	EXPECT_EQ(recipients(interests, "/shared"), (std::vector<std::string>{":1.1", ":1.2"}));
	EXPECT_EQ(recipients(interests, "/app"), (std::vector<std::string>{":1.1", ":1.2"}));
	interests.unwatch(":1.1");
	EXPECT_EQ(recipients(interests, "/app"), (std::vector<std::string>{":1.2"}));
	EXPECT_TRUE(interests.tells("/host", ":1.1"));
	EXPECT_FALSE(interests.tells("/host", ":1.2"));
}

TEST(Interests, ADepartureAndARemovedObjectLeaveNothing)
{
	core::Limits limits;
	limits.interestedPeersPerObject = 1;
	Interests interests(limits);
	const core::ObjectInfo a{{"", "a"}, {}}, b{{"", "b"}, {}};
	interests.addObject("/a", a);
	interests.addObject("/b", b);
	EXPECT_TRUE(interests.join("/a", peer(":1.1")));
	EXPECT_TRUE(interests.join("/b", peer(":1.1")));
	EXPECT_TRUE(interests.watch(peer(":1.1")));
	interests.forget(":1.1");
	EXPECT_EQ(interests.peersOf("/a"), 0u);
	EXPECT_TRUE(recipients(interests, "/b").empty());
	EXPECT_TRUE(interests.join("/a", peer(":1.2")));

	interests.removeObject("/a");
	EXPECT_EQ(interests.interestsOf(":1.2"), 0u);
	EXPECT_TRUE(recipients(interests, "/a").empty());
}

} // namespace
} // namespace ipchub::bus
