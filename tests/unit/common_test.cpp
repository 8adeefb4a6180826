// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "common/lock_mode.hpp"
#include "common/object_kind.hpp"
#include "common/object_path.hpp"
#include "common/result.hpp"

namespace ipchub::common {
namespace {

TEST(ObjectPath, IsTheContractsPathOfEachKind)
{
	EXPECT_EQ(objectPath(ObjectKind::Semaphore, "", "jobs"),
		  "/io/github/ipchub1/semaphore/jobs");
	EXPECT_EQ(objectPath(ObjectKind::SharedMemory, "", "frame"),
		  "/io/github/ipchub1/shm/frame");
	EXPECT_EQ(objectPath(ObjectKind::Lock, "", "db"), "/io/github/ipchub1/lock/db");
	// Each label escaped: the app id's dots, the key's slash and space.
	EXPECT_EQ(objectPath(ObjectKind::Lock, "org.example.App", "a/b c"),
		  "/io/github/ipchub1/lock/org_2eexample_2eApp/a_2fb_20c");
	EXPECT_EQ(scopePath(ObjectKind::SharedMemory, ""), "/io/github/ipchub1/shm");
	EXPECT_EQ(scopePath(ObjectKind::SharedMemory, "org.example.App"),
		  "/io/github/ipchub1/shm/org_2eexample_2eApp");
}

TEST(ObjectKindNames, RoundTripThroughEachName)
{
	for (const auto &names : kKinds) {
		EXPECT_EQ(objectKindFromName(objectKindName(names.kind)), names.kind);
		EXPECT_EQ(kindOfInterface(names.interface), names.kind);
		EXPECT_EQ(&namesOf(names.kind), &names);
	}
	EXPECT_EQ(objectKindFromName("sem"), ObjectKind::Semaphore);
	EXPECT_EQ(objectKindFromName("shared-memory object"), std::nullopt);
	EXPECT_EQ(kindOfInterface("io.github.ipchub1.Manager"), std::nullopt);
	EXPECT_EQ(namesOf(ObjectKind::SharedMemory).noun, "shared memory");
}

TEST(LockModeNames, RoundTripAndRefuseOthersNamingThem)
{
	for (auto mode : {LockMode::Shared, LockMode::Exclusive})
		EXPECT_EQ(parseLockMode(lockModeName(mode)).value(), mode);
	auto bad = parseLockMode("read");
	ASSERT_FALSE(bad);
	EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
	EXPECT_NE(bad.error().message.find("\"read\""), std::string::npos);
}

TEST(ErrorNames, RoundTripEveryCode)
{
	for (int i = 0; i <= static_cast<int>(ErrorCode::Failed); ++i) {
		const auto code = static_cast<ErrorCode>(i);
		EXPECT_EQ(errorCodeFromDbusName(dbusErrorName(code)), code) << dbusErrorName(code);
	}
	EXPECT_EQ(dbusErrorName(ErrorCode::NotFound), "io.github.ipchub1.Error.NotFound");
	EXPECT_EQ(errorCodeFromDbusName("org.freedesktop.DBus.Error.NoReply"), ErrorCode::Failed);
}

} // namespace
} // namespace ipchub::common
