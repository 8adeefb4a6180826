// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "core/access.hpp"

namespace ipchub::core::access {
namespace {

constexpr const char *kApp = "org.example.App";
constexpr const char *kOther = "org.example.Other";
constexpr const char *kViewer = "org.example.Viewer";

ObjectInfo object(std::string scope, std::vector<std::string> allowed = {}, bool write = false)
{
	return {{std::move(scope), "jobs"}, std::move(allowed), write};
}

bool isDenied(const Result<void> &result)
{
	return !result && result.error().code == ErrorCode::PermissionDenied;
}

TEST(Access, HostSeesAndUsesEveryScope)
{
	EXPECT_TRUE(seesEveryScope(""));
	EXPECT_FALSE(seesEveryScope(kApp));
	EXPECT_TRUE(mayUse("", object("")));
	EXPECT_TRUE(mayUse("", object(kApp)));
	EXPECT_TRUE(mayWrite("", object(kApp)));
	EXPECT_TRUE(mayManage("", kApp));
	EXPECT_TRUE(checkListAll(""));
}

TEST(Access, SandboxUsesItsOwnScopeAndWhatIsSharedWithIt)
{
	EXPECT_TRUE(mayUse(kApp, object(kApp)));
	EXPECT_FALSE(mayUse(kApp, object("")));
	EXPECT_FALSE(mayUse(kOther, object(kApp)));
	EXPECT_TRUE(mayUse(kOther, object(kApp, {kOther})));
	EXPECT_FALSE(mayUse(kOther, object(kApp, {kViewer})));

	EXPECT_TRUE(checkUse(kApp, object(kApp), "semaphore \"jobs\""));
	const auto refused = checkUse(kOther, object(kApp), "semaphore \"jobs\"");
	ASSERT_TRUE(isDenied(refused));
	EXPECT_NE(refused.error().message.find("app org.example.Other may not use semaphore"),
		  std::string::npos)
		<< refused.error().message;
}

TEST(Access, ListedAppsWriteOnlyWhenGivenWriteAndNeverManage)
{
	auto info = object("", {kViewer});
	EXPECT_FALSE(mayWrite(kViewer, info)) << "read is the default";
	EXPECT_FALSE(mayWrite(kOther, info));
	const auto readOnly = checkWrite(kViewer, info, "shared-memory object");
	ASSERT_TRUE(isDenied(readOnly));
	EXPECT_NE(readOnly.error().message.find("allowed_apps_access \"read\""), std::string::npos);
	info.allowedAppsWrite = true;
	EXPECT_TRUE(mayWrite(kViewer, info));
	EXPECT_FALSE(mayWrite(kOther, info));
	EXPECT_TRUE(mayWrite(kApp, object(kApp)));

	// Being listed, even for writing, never gives removing or sealing.
	EXPECT_FALSE(mayManage(kViewer, ""));
	EXPECT_TRUE(mayManage(kApp, kApp));
	const auto seal = checkManage(kViewer, info, "shared-memory object", "seal");
	ASSERT_TRUE(isDenied(seal));
	EXPECT_NE(seal.error().message.find("may not seal shared-memory object"),
		  std::string::npos);
}

TEST(Access, HolderDetailsOnlyForTheHostAndTheHoldersOwnScope)
{
	EXPECT_TRUE(maySeeHolder("", kApp));
	EXPECT_TRUE(maySeeHolder(kApp, kApp));
	EXPECT_FALSE(maySeeHolder(kApp, ""));
	EXPECT_FALSE(maySeeHolder(kApp, kOther));
}

TEST(Access, HostCreatesAnywhereSandboxOnlyInItsOwn)
{
	EXPECT_EQ(scopeForCreate("", std::nullopt).value(), "");
	EXPECT_EQ(scopeForCreate("", kApp).value(), kApp);
	EXPECT_EQ(scopeForCreate(kApp, std::nullopt).value(), kApp);
	EXPECT_EQ(scopeForCreate(kApp, kApp).value(), kApp);
	auto other = scopeForCreate(kApp, "");
	ASSERT_FALSE(other);
	EXPECT_EQ(other.error().code, ErrorCode::PermissionDenied);
	EXPECT_FALSE(scopeForCreate(kApp, kOther));
}

TEST(Access, RequestedScopesAreAppIds)
{
	EXPECT_EQ(scopeForOpen("", "").value(), "");
	EXPECT_EQ(scopeForOpen(kApp, std::nullopt).value(), kApp);
	EXPECT_EQ(scopeForOpen(kApp, "").value(), "") << "whether it may use it is checkOpen's";
	for (const std::string bad : {"x", "../etc", "org.example.App/x", "org..App"}) {
		auto open = scopeForOpen("", bad);
		ASSERT_FALSE(open) << bad;
		EXPECT_EQ(open.error().code, ErrorCode::InvalidArgument);
		EXPECT_NE(open.error().message.find("option scope"), std::string::npos);
		EXPECT_FALSE(scopeForCreate("", bad)) << bad;
	}
}

TEST(Access, OpenTellsASandboxNothingOfAnotherScope)
{
	const auto shared = object("", {kApp});
	const auto hidden = object("");
	EXPECT_TRUE(checkOpen("", "", nullptr, "x")) << "the host gets NotFound later";
	EXPECT_TRUE(checkOpen(kApp, kApp, nullptr, "x")) << "its own scope: NotFound later";
	EXPECT_TRUE(checkOpen(kApp, "", &shared, "x"));
	const auto notThere = checkOpen(kApp, "", nullptr, "semaphore \"jobs\"");
	const auto notShared = checkOpen(kApp, "", &hidden, "semaphore \"jobs\"");
	ASSERT_TRUE(isDenied(notThere));
	ASSERT_TRUE(isDenied(notShared));
	EXPECT_EQ(notThere.error().message, notShared.error().message);
}

TEST(Access, RemoveInItsOwnScopeOnlyWithOneRefusalOutside)
{
	const auto own = object(kApp);
	const auto host = object("");
	const auto sharedWithIt = object("", {kApp}, true);
	EXPECT_TRUE(checkRemove("", "/p", false, &own));
	EXPECT_TRUE(checkRemove(kApp, "/p", true, &own));
	const auto hostMissing = checkRemove("", "/p", false, nullptr);
	ASSERT_FALSE(hostMissing);
	EXPECT_EQ(hostMissing.error().code, ErrorCode::NotFound);
	const auto ownMissing = checkRemove(kApp, "/p", true, nullptr);
	ASSERT_FALSE(ownMissing);
	EXPECT_EQ(ownMissing.error().code, ErrorCode::NotFound);

	const auto missing = checkRemove(kApp, "/p", false, nullptr);
	const auto other = checkRemove(kApp, "/p", false, &host);
	const auto shared = checkRemove(kApp, "/p", false, &sharedWithIt);
	ASSERT_TRUE(isDenied(missing));
	ASSERT_TRUE(isDenied(other));
	ASSERT_TRUE(isDenied(shared)) << "allowed_apps never gives Remove";
	EXPECT_EQ(missing.error().message, other.error().message);
	EXPECT_EQ(missing.error().message, shared.error().message);
	// A host object at a path below the app's node still is not the app's.
	EXPECT_TRUE(isDenied(checkRemove(kApp, "/p", true, &host)));
}

TEST(Access, OnlyTheHostListsEveryObject)
{
	const auto listing = checkListAll(kApp);
	ASSERT_TRUE(isDenied(listing));
	EXPECT_NE(listing.error().message.find("GetManagedObjects"), std::string::npos);
}

} // namespace
} // namespace ipchub::core::access
