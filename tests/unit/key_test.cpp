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

TEST(Scope, HostCreatesAnywhereSandboxOnlyInItsOwn)
{
	EXPECT_EQ(scopeForCreate("", std::nullopt).value(), "");
	EXPECT_EQ(scopeForCreate("", "org.example.App").value(), "org.example.App");
	EXPECT_EQ(scopeForCreate("org.example.App", std::nullopt).value(), "org.example.App");
	auto other = scopeForCreate("org.example.App", "");
	ASSERT_FALSE(other);
	EXPECT_EQ(other.error().code, ErrorCode::PermissionDenied);
}

TEST(Scope, ScopesAndAllowedAppsAreAppIds)
{
	EXPECT_EQ(scopeForOpen("", "").value(), "");
	EXPECT_EQ(scopeForOpen("org.example.App", std::nullopt).value(), "org.example.App");
	for (const std::string bad : {"x", "../etc", "org.example.App/x", "org..App"}) {
		auto open = scopeForOpen("", bad);
		ASSERT_FALSE(open) << bad;
		EXPECT_EQ(open.error().code, ErrorCode::InvalidArgument);
		EXPECT_NE(open.error().message.find("option scope"), std::string::npos);
		EXPECT_FALSE(scopeForCreate("", bad)) << bad;
	}
	EXPECT_TRUE(checkAllowedApps({}));
	EXPECT_TRUE(checkAllowedApps({"org.example.One", "org.example.Two"}));
	EXPECT_FALSE(checkAllowedApps({"org.example.One", ""}));
	EXPECT_FALSE(checkAllowedApps(std::vector<std::string>(kMaxAllowedApps + 1, "a.b")));
}

TEST(Scope, AccessNeedsHostSameScopeOrAllowedApp)
{
	EXPECT_TRUE(mayAccess("", "org.example.App", {}));
	EXPECT_TRUE(mayAccess("org.example.App", "org.example.App", {}));
	EXPECT_FALSE(mayAccess("org.example.App", "", {}));
	EXPECT_FALSE(mayAccess("org.example.Other", "org.example.App", {}));
	EXPECT_TRUE(mayAccess("org.example.Other", "org.example.App", {"org.example.Other"}));
}

TEST(Scope, ListedAppsWriteOnlyWhenGivenWriteAndNeverManage)
{
	ObjectInfo info{{"", "frame"}, {"org.example.Viewer"}};
	EXPECT_TRUE(mayWrite("", info));
	EXPECT_FALSE(mayWrite("org.example.Viewer", info)) << "read is the default";
	EXPECT_FALSE(mayWrite("org.example.Other", info));
	info.allowedAppsWrite = true;
	EXPECT_TRUE(mayWrite("org.example.Viewer", info));
	EXPECT_FALSE(mayWrite("org.example.Other", info));

	EXPECT_TRUE(mayManage("", "org.example.App"));
	EXPECT_TRUE(mayManage("org.example.App", "org.example.App"));
	EXPECT_FALSE(mayManage("org.example.Viewer", ""));

	EXPECT_EQ(parseAllowedAppsAccess("read").value_or(true), false);
	EXPECT_EQ(parseAllowedAppsAccess("write").value_or(false), true);
	auto bad = parseAllowedAppsAccess("admin");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
	EXPECT_NE(bad.error().message.find("allowed_apps_access"), std::string::npos);
}

} // namespace
} // namespace ipchub::core
