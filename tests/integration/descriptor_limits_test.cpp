// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubd's descriptors: lock handles (two of its descriptors each) have limits per
// connection and in total, a reserve below its descriptor limit stays free for reading
// messages and identifying callers, and a message whose descriptors it cannot receive
// costs that message alone, never the service.

#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/resource.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using DescriptorLimitsTest = IpchubTest;

constexpr const char *kManagerPath = "/io/github/ipchub1";
constexpr const char *kManagerInterface = "io.github.ipchub1.Manager";

// The descriptors process pid has open.
std::set<int> openDescriptors(pid_t pid)
{
	std::set<int> open;
	DIR *dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
	if (!dir)
		return open;
	while (const dirent *entry = readdir(dir))
		if (entry->d_name[0] != '.')
			open.insert(std::atoi(entry->d_name));
	closedir(dir);
	return open;
}

// Sets the soft descriptor limit of process pid; the one it replaced.
rlim_t setDescriptorLimit(pid_t pid, rlim_t soft)
{
	rlimit old{};
	EXPECT_EQ(prlimit(pid, RLIMIT_NOFILE, nullptr, &old), 0);
	rlimit changed = old;
	changed.rlim_cur = soft;
	EXPECT_EQ(prlimit(pid, RLIMIT_NOFILE, &changed, nullptr), 0);
	return old.rlim_cur;
}

// Calls Manager.OpenSemaphore(key) on connection; "ok" or "ErrorName: message".
std::string openSemaphore(sdbus::IConnection &connection, const std::string &key)
{
	auto proxy = sdbus::createProxy(connection, "io.github.ipchub1", kManagerPath);
	try {
		sdbus::ObjectPath path;
		proxy->callMethod("OpenSemaphore")
			.onInterface(kManagerInterface)
			.withArguments(key, std::map<std::string, sdbus::Variant>{})
			.storeResultsTo(path);
		return "ok";
	} catch (const sdbus::Error &e) {
		return e.getName() + ": " + e.getMessage();
	}
}

TEST_F(DescriptorLimitsTest, HandlesAndGrantsHaveLimitsPerConnectionAndInTotal)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon(
		{"--handles-per-connection=3", "--handles-total=5", "--grants-per-connection=4"});
	auto first = connect();
	auto lock = first.createLock("db");
	ASSERT_TRUE(lock) << lock.error().message;
	std::vector<LockHandle> handles;
	for (int i = 0; i < 3; ++i) {
		auto handle = lock->acquireHandle(LockMode::Shared, 0us);
		ASSERT_TRUE(handle) << handle.error().message;
		handles.push_back(std::move(*handle));
	}
	auto over = lock->acquireHandle(LockMode::Shared, 0us);
	ASSERT_FALSE(over);
	EXPECT_EQ(over.error().code, ErrorCode::LimitExceeded);
	EXPECT_THAT(over.error().message,
		    HasSubstr("already holds 3 lock handles; handles_per_connection is 3"));
	// Grants of any kind: three handles and one plain grant fill the connection's four.
	auto guard = lock->acquire(LockMode::Shared, 0us);
	ASSERT_TRUE(guard) << guard.error().message;
	auto fifth = lock->acquire(LockMode::Shared, 0us);
	ASSERT_FALSE(fifth);
	EXPECT_EQ(fifth.error().code, ErrorCode::LimitExceeded);
	EXPECT_THAT(fifth.error().message, HasSubstr("grants_per_connection is 4"));

	// Another connection gets what is left of the total.
	auto second = connect();
	auto opened = second.openLock("db");
	ASSERT_TRUE(opened);
	std::vector<LockHandle> others;
	for (int i = 0; i < 2; ++i) {
		auto handle = opened->acquireHandle(LockMode::Shared, 0us);
		ASSERT_TRUE(handle) << handle.error().message;
		others.push_back(std::move(*handle));
	}
	auto past = opened->acquireHandle(LockMode::Shared, 0us);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded);
	EXPECT_THAT(past.error().message, HasSubstr("5 lock handles; handles_total is 5"));
	// A closed handle makes room again once ipchubd has seen it hang up.
	handles.front().close();
	EXPECT_TRUE(
		waitFor([&] { return opened->acquireHandle(LockMode::Shared, 0us).has_value(); }));
}

TEST_F(DescriptorLimitsTest, NearItsDescriptorLimitIpchubdRefusesHandlesAndServesEveryone)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--descriptor-reserve=32"});
	auto holder = connect();
	auto lock = holder.createLock("db");
	ASSERT_TRUE(lock);
	setDescriptorLimit(daemonPid(), 128);

	std::vector<LockHandle> handles;
	Result<LockHandle> refused = fail(ErrorCode::Failed, "never refused");
	while (handles.size() < 200) {
		auto handle = lock->acquireHandle(LockMode::Shared, 0us);
		if (!handle) {
			refused = std::move(handle);
			break;
		}
		handles.push_back(std::move(*handle));
	}
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded) << refused.error().message;
	EXPECT_THAT(refused.error().message, HasSubstr("descriptor_reserve"));
	EXPECT_GT(handles.size(), 10u);
	EXPECT_LE(openDescriptors(daemonPid()).size(), 128u - 32u + 4u);

	// New callers are identified from the reserve and served.
	for (int i = 0; i < 3; ++i) {
		auto other = connect();
		EXPECT_TRUE(other.createSemaphore("after-" + std::to_string(i), 1));
	}
	// What was given back can be taken again.
	handles.pop_back();
	EXPECT_TRUE(
		waitFor([&] { return lock->acquireHandle(LockMode::Shared, 0us).has_value(); }));
}

// A fast object's page is a descriptor ipchubd keeps while the object lives: creating one
// is refused near the limit as handing out a handle is (a bare client that never
// attaches, as the library would), and plain objects still come.
TEST_F(DescriptorLimitsTest, NearItsDescriptorLimitIpchubdRefusesFastObjectsAndServesPlainOnes)
{
	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--descriptor-reserve=32"});
	RawConnection bare(address());
	setDescriptorLimit(daemonPid(), 128);

	const std::map<std::string, sdbus::Variant> fast{{"fast", sdbus::Variant(true)}};
	int created = 0;
	std::string refused = "never refused";
	for (; created < 200; ++created) {
		try {
			bare.createSemaphore("fast-" + std::to_string(created), 1, fast);
		} catch (const sdbus::Error &e) {
			refused = e.getName() + ": " + e.getMessage();
			break;
		}
	}
	EXPECT_THAT(refused, HasSubstr("LimitExceeded"));
	EXPECT_THAT(refused, HasSubstr("a fast page"));
	EXPECT_THAT(refused, HasSubstr("descriptor_reserve"));
	EXPECT_GT(created, 10);
	EXPECT_LE(openDescriptors(daemonPid()).size(), 128u - 32u + 4u);
	// A plain object needs no descriptor of ipchubd's: it is still created.
	EXPECT_NO_THROW(bare.createSemaphore("plain", 1));
}

TEST_F(DescriptorLimitsTest, AtItsLimitADescriptorIpchubdCannotTakeCostsOnlyItsMessage)
{
	auto before = connect();
	auto kept = before.createSemaphore("before", 1);
	ASSERT_TRUE(kept);
	auto sender = sdbus::createSessionBusConnectionWithAddress(address());
	auto late = sdbus::createSessionBusConnectionWithAddress(address());

	// No descriptor number is left: the limit is ipchubd's lowest free one, so every
	// number below it is open.
	const auto open = openDescriptors(daemonPid());
	int lowestFree = 0;
	while (open.contains(lowestFree))
		++lowestFree;
	const rlim_t limit = setDescriptorLimit(daemonPid(), static_cast<rlim_t>(lowestFree));

	// A call with a descriptor: the kernel cannot give it to ipchubd.
	auto proxy = sdbus::createProxy(*sender, "io.github.ipchub1", kManagerPath);
	auto call = proxy->createMethodCall(kManagerInterface, "OpenSemaphore");
	call << sdbus::UnixFd(STDIN_FILENO);
	EXPECT_THROW(proxy->callMethod(call, 2'000'000), sdbus::Error);
	EXPECT_TRUE(nameOwned());

	// A caller that cannot be identified now is refused for now, not for good.
	EXPECT_THAT(openSemaphore(*late, "before"), HasSubstr("LimitExceeded"));
	setDescriptorLimit(daemonPid(), limit);
	EXPECT_EQ(openSemaphore(*late, "before"), "ok");
	EXPECT_EQ(openSemaphore(*sender, "before"), "ok");
	EXPECT_TRUE(before.createSemaphore("after", 1));
}

} // namespace
} // namespace ipchub::test
