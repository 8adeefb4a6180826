// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "core/key.hpp"
#include "core/scope.hpp"

namespace ipchub::core {
namespace {

TEST(Key, AcceptsOneTo255BytesOfUtf8)
{
	EXPECT_TRUE(checkKey("a", 255));
	EXPECT_TRUE(checkKey(std::string(255, 'k'), 255));
	EXPECT_TRUE(checkKey("jobs/queue with spaces", 255));
	EXPECT_TRUE(checkKey("grüße ✓ 🔒", 255));
}

TEST(Key, RefusesEmptyLongNulAndBadUtf8WithTheLimit)
{
	auto empty = checkKey("", 255);
	ASSERT_FALSE(empty);
	EXPECT_EQ(empty.error().code, ErrorCode::InvalidKey);

	auto longKey = checkKey(std::string(256, 'k'), 255);
	ASSERT_FALSE(longKey);
	EXPECT_EQ(longKey.error().code, ErrorCode::InvalidKey);
	EXPECT_NE(longKey.error().message.find("256 bytes; at most 255"), std::string::npos);

	EXPECT_FALSE(checkKey(std::string("a\0b", 3), 255));
	EXPECT_FALSE(checkKey("\xff", 255));
}

TEST(Utf8, RefusesOverlongSurrogatesTruncatedAndOutOfRange)
{
	EXPECT_TRUE(isValidUtf8("\xc3\xa9"));
	EXPECT_FALSE(isValidUtf8("\xc0\xaf"));         // overlong '/'
	EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));     // U+D800
	EXPECT_FALSE(isValidUtf8("\xe2\x82"));         // truncated
	EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80")); // past U+10FFFF
	EXPECT_FALSE(isValidUtf8("\x80"));             // lone continuation
}

TEST(Scope, AllowedAppsAreAppIds)
{
	EXPECT_TRUE(checkAllowedApps({}));
	EXPECT_TRUE(checkAllowedApps({"org.example.One", "org.example.Two"}));
	EXPECT_FALSE(checkAllowedApps({"org.example.One", ""}));
	EXPECT_FALSE(checkAllowedApps(std::vector<std::string>(kMaxAllowedApps + 1, "a.b")));
}

TEST(Scope, AllowedAppsAccessIsReadOrWrite)
{
	EXPECT_EQ(parseAllowedAppsAccess("read").value_or(true), false);
	EXPECT_EQ(parseAllowedAppsAccess("write").value_or(false), true);
	auto bad = parseAllowedAppsAccess("admin");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
	EXPECT_NE(bad.error().message.find("allowed_apps_access"), std::string::npos);
}

} // namespace
} // namespace ipchub::core
