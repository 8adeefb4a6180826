// SPDX-License-Identifier: LGPL-2.1-or-later
// The Manager's rules with no bus: core/manager (Create and Open of every kind).

#include <gtest/gtest.h>

#include "core/manager.hpp"

namespace ipchub::core {
namespace {

const Caller kHost{":1.1", ""};
const Caller kApp{":1.2", "org.example.App"};
const Caller kViewer{":1.3", "org.example.Viewer"};

bool refused(const auto &result, ErrorCode code, const std::string &text = "")
{
	return !result && result.error().code == code &&
	       result.error().message.find(text) != std::string::npos;
}

class ManagerRules : public ::testing::Test
{
protected:
	Limits limits;
	Hub hub{limits};
};

TEST_F(ManagerRules, CreateChecksKeyScopeAndAllowedAppsFirst)
{
	EXPECT_TRUE(refused(createLock(hub, kHost, "", {}), ErrorCode::InvalidKey));
	EXPECT_TRUE(refused(createLock(hub, kApp, "k", {.scope = ""}), ErrorCode::PermissionDenied,
			    "cannot create objects in scope"));
	EXPECT_TRUE(refused(createLock(hub, kHost, "k", {.allowedApps = {"not an app"}}),
			    ErrorCode::InvalidArgument, "allowed_apps"));
	auto lock = createLock(hub, kApp, "k", {});
	ASSERT_TRUE(lock);
	EXPECT_EQ((*lock)->id().scope, "org.example.App") << "the caller's own scope";
	EXPECT_EQ(hub.locks.size(), 1u);
}

TEST_F(ManagerRules, ASemaphoreRefusedByItsOwnChecksLeavesNoReference)
{
	EXPECT_TRUE(refused(createSemaphore(hub, kHost, "s", {}, 5, {.max = 4}),
			    ErrorCode::InvalidArgument, "above max 4"));
	EXPECT_EQ(hub.semaphores.size(), 0u);
	EXPECT_EQ(hub.quota.objects(kHost.client), 0u);
	EXPECT_TRUE(createSemaphore(hub, kHost, "s", {}, 1, {}));
	EXPECT_TRUE(refused(createSemaphore(hub, kHost, "s", {}, 1, {}), ErrorCode::AlreadyExists));
	EXPECT_TRUE(createSemaphore(hub, kApp, "s", {.scope = "org.example.App"}, 1, {}))
		<< "the same key in another scope is another object";
}

TEST_F(ManagerRules, OpenExistingNeedsTheRightToUseIt)
{
	ASSERT_TRUE(
		createSemaphore(hub, kHost, "shared", {.allowedApps = {"org.example.App"}}, 1, {}));
	ASSERT_TRUE(createSemaphore(hub, kHost, "hidden", {}, 1, {}));
	// The app names the host's scope to open it.
	EXPECT_TRUE(createSemaphore(hub, kApp, "shared", {.scope = "", .openExisting = true}, 1, {})
			    .error()
			    .code == ErrorCode::PermissionDenied)
		<< "it may not create there, even to open";
	EXPECT_TRUE(openObject(hub, hub.semaphores, kApp, "shared", ""));
	const auto hidden = openObject(hub, hub.semaphores, kApp, "hidden", "");
	const auto missing = openObject(hub, hub.semaphores, kApp, "missing", "");
	ASSERT_TRUE(refused(hidden, ErrorCode::PermissionDenied));
	ASSERT_TRUE(refused(missing, ErrorCode::PermissionDenied));
	EXPECT_EQ(hidden.error().message.substr(0, 30), missing.error().message.substr(0, 30));
	EXPECT_TRUE(refused(openObject(hub, hub.semaphores, kHost, "missing", std::nullopt),
			    ErrorCode::NotFound));
	EXPECT_TRUE(refused(openObject(hub, hub.semaphores, kHost, "x", "../etc"),
			    ErrorCode::InvalidArgument, "option scope"));
}

TEST_F(ManagerRules, ASharedMemoryOpenedByCreateIsTheSizeAskedWritableAndNotSealed)
{
	auto created = createSharedMemory(hub, kHost, "frame",
					  {.allowedApps = {"org.example.Viewer"}}, 4096, false);
	ASSERT_TRUE(created) << created.error().message;
	EXPECT_TRUE(created->fd);
	const CreateOptions openIt{.openExisting = true};
	EXPECT_TRUE(refused(createSharedMemory(hub, kHost, "frame", openIt, 8192, false),
			    ErrorCode::InvalidArgument, "size is 8192 bytes; the existing"));
	const CreateOptions openHost{.scope = "", .openExisting = true};
	EXPECT_TRUE(refused(createSharedMemory(hub, kViewer, "frame", openHost, 4096, false),
			    ErrorCode::PermissionDenied));
	auto again = createSharedMemory(hub, kHost, "frame", openIt, 4096, false);
	ASSERT_TRUE(again);
	EXPECT_EQ(again->sharedMemory, created->sharedMemory);
	ASSERT_TRUE(created->sharedMemory->seal());
	EXPECT_TRUE(refused(createSharedMemory(hub, kHost, "frame", openIt, 4096, false),
			    ErrorCode::PermissionDenied,
			    "is sealed; open it and attach read-only"));
	EXPECT_EQ(hub.sharedMemories.referencedBy({"", "frame"}).size(), 1u)
		<< "a refused call takes no reference";
}

TEST_F(ManagerRules, AListedAppThatMayOnlyReadIsNoCreatorOfIt)
{
	ASSERT_TRUE(createSharedMemory(hub, kApp, "view", {.allowedApps = {"org.example.Viewer"}},
				       4096, false));
	const CreateOptions openApps{.scope = "org.example.App", .openExisting = true};
	// A Create hands out a writable descriptor and names a scope to create in: a
	// listed app uses another scope's shared-memory object through Open alone.
	EXPECT_TRUE(refused(createSharedMemory(hub, kViewer, "view", openApps, 4096, false),
			    ErrorCode::PermissionDenied));
	EXPECT_TRUE(openObject(hub, hub.sharedMemories, kViewer, "view", "org.example.App"));
}

} // namespace
} // namespace ipchub::core
