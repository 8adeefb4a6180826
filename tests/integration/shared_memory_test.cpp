// SPDX-License-Identifier: LGPL-2.1-or-later
#include "shared_memory_fixture.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

TEST_F(SharedMemoryTest, CreateMapsAZeroFilledReadWriteSharedMemory)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm) << shm.error().message;
	EXPECT_EQ(shm->path(), "/io/github/ipchub1/shm/frame");
	EXPECT_EQ(shm->access(), Access::ReadWrite);
	ASSERT_EQ(shm->size(), 4096u);
	ASSERT_EQ(shm->data().size(), 4096u);
	EXPECT_TRUE(std::ranges::all_of(shm->constData(),
					[](std::byte b) { return b == std::byte{0}; }));
	EXPECT_EQ(property(shm->path(), "Size"), "t 4096");
	EXPECT_EQ(property(shm->path(), "Key"), "s \"frame\"");
	EXPECT_EQ(shm->attachments().value_or(0), 1u);

	auto again = client.createSharedMemory("frame", 4096);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists);
	auto otherSize = client.createSharedMemory("frame", 8192, openExisting());
	ASSERT_FALSE(otherSize);
	EXPECT_EQ(otherSize.error().code, ErrorCode::InvalidArgument);
	EXPECT_THAT(otherSize.error().message, HasSubstr("8192"));
	auto existing = client.createSharedMemory("frame", 4096, openExisting());
	ASSERT_TRUE(existing) << existing.error().message;
}

TEST_F(SharedMemoryTest, TwoProcessesShareBytesBothWays)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 1 << 20);
	ASSERT_TRUE(shm) << shm.error().message;
	writeText(shm->data(), 0, "ping from the parent");
	Signal wrote;
	Child child = forkChild([&] {
		auto other = Client::connect(address());
		auto view = other->openSharedMemory("frame", Access::ReadWrite);
		if (!view || readText(view->constData(), 0, 20) != "ping from the parent")
			return 1;
		writeText(view->data(), (1 << 20) - 15, "pong from child");
		wrote.raise();
		return 0;
	});
	ASSERT_TRUE(wrote.await());
	EXPECT_EQ(readText(shm->constData(), (1 << 20) - 15, 15), "pong from child");
	EXPECT_EQ(child.wait(), 0);
}

TEST_F(SharedMemoryTest, ReadOnlyAttachCannotBeMappedWritable)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 8192);
	ASSERT_TRUE(shm);
	writeText(shm->data(), 0, "hello");

	auto reader = connect();
	auto view = reader.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view) << view.error().message;
	EXPECT_TRUE(view->data().empty());
	EXPECT_EQ(readText(view->constData(), 0, 5), "hello");
	EXPECT_EQ(fcntl(view->fd(), F_GETFL) & O_ACCMODE, O_RDONLY);

	errno = 0;
	void *writable = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, view->fd(), 0);
	EXPECT_EQ(writable, MAP_FAILED);
	EXPECT_EQ(errno, EACCES);
	if (writable != MAP_FAILED)
		munmap(writable, 8192);
	// Nor can the read-only mapping be made writable afterwards.
	void *mapped = const_cast<std::byte *>(view->constData().data());
	EXPECT_EQ(mprotect(mapped, 8192, PROT_READ | PROT_WRITE), -1);
	EXPECT_EQ(errno, EACCES);
	EXPECT_EQ(write(view->fd(), "x", 1), -1);
	EXPECT_EQ(errno, EBADF);
}

// Not as it is: the memfd is owner-read only. Its holder may change that (fchmod), which
// only Seal answers (shared_memory_seal_test.cpp).
TEST_F(SharedMemoryTest, ReadOnlyDescriptorCannotBeReopenedWritable)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto view = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view);
	const std::string self = "/proc/self/fd/" + std::to_string(view->fd());
	// The tests run as root, whom file modes do not stop: the child gives up root,
	// as an unprivileged client never had it.
	Child child = forkChild([&] {
		if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)
			return 2;
		const int fd = open(self.c_str(), O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return 1;
		}
		return errno == EACCES ? 0 : 3;
	});
	EXPECT_EQ(child.wait(), 0);
}

TEST_F(SharedMemoryTest, NoHandedOutDescriptorCanResizeTheObject)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto rw = client.openSharedMemory("frame", Access::ReadWrite);
	auto ro = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(rw && ro);
	for (int fd : {shm->fd(), rw->fd()}) {
		EXPECT_EQ(ftruncate(fd, 0), -1);
		EXPECT_EQ(errno, EPERM);
		EXPECT_EQ(ftruncate(fd, 1 << 20), -1);
		EXPECT_EQ(errno, EPERM);
		EXPECT_EQ(fallocate(fd, 0, 0, 1 << 20), -1);
		EXPECT_EQ(errno, EPERM);
	}
	// Not open for writing at all.
	EXPECT_EQ(ftruncate(ro->fd(), 0), -1);
	EXPECT_EQ(errno, EINVAL);
	struct stat status;
	ASSERT_EQ(fstat(shm->fd(), &status), 0);
	EXPECT_EQ(status.st_size, 4096);
}

TEST_F(SharedMemoryTest, SealsAreVisibleOnEveryDescriptor)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto ro = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(ro);
	EXPECT_EQ(fcntl(shm->fd(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	EXPECT_EQ(fcntl(ro->fd(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	EXPECT_EQ(property(shm->path(), "Sealed"), "b false");

	ASSERT_TRUE(shm->seal());
	const int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
	EXPECT_EQ(fcntl(shm->fd(), F_GET_SEALS), all);
	EXPECT_EQ(fcntl(ro->fd(), F_GET_SEALS), all);
	EXPECT_EQ(shm->sealed().value_or(false), true);
	EXPECT_TRUE(shm->seal()) << "sealing twice does nothing";
	// F_SEAL_SEAL: nobody can take the seals off or add F_SEAL_WRITE.
	EXPECT_EQ(fcntl(shm->fd(), F_ADD_SEALS, F_SEAL_WRITE), -1);
	EXPECT_EQ(errno, EPERM);
}

TEST_F(SharedMemoryTest, SealedSharedMemoryRefusesWritesAndWritableAttaches)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	writeText(shm->data(), 0, "final");
	ASSERT_TRUE(shm->seal());

	auto other = connect();
	auto writable = other.openSharedMemory("frame", Access::ReadWrite);
	ASSERT_FALSE(writable);
	EXPECT_EQ(writable.error().code, ErrorCode::PermissionDenied);
	auto reopened = other.createSharedMemory("frame", 4096, openExisting());
	ASSERT_FALSE(reopened);
	EXPECT_EQ(reopened.error().code, ErrorCode::PermissionDenied);

	// The creator's descriptor was handed out before the seal; it cannot write now.
	EXPECT_EQ(pwrite(shm->fd(), "x", 1, 0), -1);
	EXPECT_EQ(errno, EPERM);
	void *mapped = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, shm->fd(), 0);
	EXPECT_EQ(mapped, MAP_FAILED);
	EXPECT_EQ(errno, EPERM);

	auto view = other.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view) << view.error().message;
	EXPECT_EQ(readText(view->constData(), 0, 5), "final");
}

TEST_F(SharedMemoryTest, SizeZeroAndSizesPastTheLimits)
{
	auto client = connect();
	auto empty = client.createSharedMemory("empty", 0);
	ASSERT_FALSE(empty);
	EXPECT_EQ(empty.error().code, ErrorCode::InvalidArgument);

	ASSERT_EQ(stopDaemon(), 0);
	startDaemon({"--segment-size=65536", "--bytes-per-connection=131072"});
	auto limits = run({"busctl", "--address=" + address(), "get-property", "io.github.ipchub1",
			   "/io/github/ipchub1", "io.github.ipchub1.Manager", "Limits"});
	EXPECT_THAT(limits.out, HasSubstr("\"segment_size\" t 65536"));
	EXPECT_THAT(limits.out, HasSubstr("\"bytes_per_connection\" t 131072"));

	auto limited = connect();
	auto big = limited.createSharedMemory("big", 65537);
	ASSERT_FALSE(big);
	EXPECT_EQ(big.error().code, ErrorCode::LimitExceeded);
	EXPECT_THAT(big.error().message, HasSubstr("segment_size is 65536"));

	auto first = limited.createSharedMemory("first", 65536);
	auto second = limited.createSharedMemory("second", 65536);
	ASSERT_TRUE(first && second);
	auto third = limited.createSharedMemory("third", 1);
	ASSERT_FALSE(third);
	EXPECT_EQ(third.error().code, ErrorCode::LimitExceeded);
	EXPECT_THAT(third.error().message, HasSubstr("bytes_per_connection 131072"));
	// Another connection has its own allowance.
	auto elsewhere = connect().createSharedMemory("elsewhere", 65536);
	EXPECT_TRUE(elsewhere) << elsewhere.error().message;
	// The bytes come back when the shared-memory object goes.
	ASSERT_TRUE(first->close());
	auto again = limited.createSharedMemory("third", 65536);
	EXPECT_TRUE(again) << again.error().message;
}

TEST_F(SharedMemoryTest, SharedMemoryGoesWhenNobodyReferencesIt)
{
	Child creator = forkChild([&] {
		auto other = Client::connect(address());
		auto shm = other->createSharedMemory("frame", 4096);
		return shm ? 0 : 1;
	});
	ASSERT_EQ(creator.wait(), 0);
	auto client = connect();
	ASSERT_TRUE(waitFor([&] {
		auto gone = client.openSharedMemory("frame", Access::ReadOnly);
		return !gone && gone.error().code == ErrorCode::NotFound;
	}));
	EXPECT_EQ(daemonMemfds(), 0);
}

TEST_F(SharedMemoryTest, PersistentSharedMemoryLastsUntilRemove)
{
	Child creator = forkChild([&] {
		auto other = Client::connect(address());
		auto shm = other->createSharedMemory("frame", 4096, persistent());
		if (!shm)
			return 1;
		writeText(shm->data(), 0, "kept");
		return 0;
	});
	ASSERT_EQ(creator.wait(), 0);
	auto client = connect();
	{
		auto view = client.openSharedMemory("frame", Access::ReadOnly);
		ASSERT_TRUE(view) << view.error().message;
		EXPECT_EQ(readText(view->constData(), 0, 4), "kept");
	}
	ASSERT_TRUE(client.remove("/io/github/ipchub1/shm/frame"));
	auto gone = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
	EXPECT_EQ(daemonMemfds(), 0);
}

TEST_F(SharedMemoryTest, AttachmentsCountAttachedConnections)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	EXPECT_EQ(shm->attachments().value_or(0), 1u);
	auto other = connect();
	{
		auto view = other.openSharedMemory("frame", Access::ReadOnly);
		ASSERT_TRUE(view);
		EXPECT_EQ(shm->attachments().value_or(0), 2u);
	}
	EXPECT_EQ(shm->attachments().value_or(0), 1u);
}

// The read-write memfd, and a read-only descriptor from the first read-only attach on:
// two per shared-memory object, however many attaches.
TEST_F(SharedMemoryTest, DaemonKeepsAtMostTwoDescriptorsPerSharedMemory)
{
	// A reply carries a duplicate that sd-bus closes once it is sent: wait for the
	// count to settle.
	const auto settlesAt = [&](int count) {
		return waitFor([&] { return daemonMemfds() == count; }, 2s);
	};
	// Each shared-memory object's read-write memfd and its read-only description, opened at
	// creation.
	auto client = connect();
	auto a = client.createSharedMemory("a", 4096);
	auto b = client.createSharedMemory("b", 4096);
	ASSERT_TRUE(a && b);
	EXPECT_TRUE(settlesAt(4)) << daemonMemfds();
	auto other = connect();
	{
		auto writable = other.openSharedMemory("a", Access::ReadWrite);
		ASSERT_TRUE(writable) << writable.error().message;
	}
	EXPECT_TRUE(settlesAt(4)) << daemonMemfds();
	for (int i = 0; i < 20; ++i) {
		auto view = other.openSharedMemory(i % 2 ? "a" : "b",
						   i % 3 ? Access::ReadOnly : Access::ReadWrite);
		ASSERT_TRUE(view) << view.error().message;
	}
	EXPECT_TRUE(settlesAt(4)) << daemonMemfds();
	ASSERT_TRUE(a->close());
	EXPECT_TRUE(settlesAt(2)) << daemonMemfds();
	ASSERT_TRUE(b->close());
	EXPECT_TRUE(settlesAt(0)) << daemonMemfds();
}

// A user manager starts services with 1024 descriptors (the soft limit) out of a far
// higher hard limit; ipchubd raises the soft one, so shared-memory objects do not run out at 500.
TEST_F(SharedMemoryTest, DaemonRaisesItsDescriptorLimit)
{
	rlimit ours{};
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &ours), 0);
	constexpr rlim_t kSharedMemories = 1100;
	if (ours.rlim_max != RLIM_INFINITY && ours.rlim_max < 3 * kSharedMemories)
		GTEST_SKIP() << "the hard descriptor limit is " << ours.rlim_max;
	rlimit lowered = ours;
	lowered.rlim_cur = 1024;
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);
	stopDaemon();
	startDaemon();
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &ours), 0);

	rlimit daemons{};
	ASSERT_EQ(prlimit(daemonPid(), RLIMIT_NOFILE, nullptr, &daemons), 0);
	EXPECT_EQ(daemons.rlim_cur, daemons.rlim_max);

	// Each shared-memory object read-only attached: two descriptors apiece in ipchubd.
	auto client = connect();
	auto reader = connect();
	for (rlim_t i = 0; i < kSharedMemories; ++i) {
		const std::string key = "many-" + std::to_string(i);
		auto created = client.createSharedMemory(key, 4096, {.persistent = true});
		ASSERT_TRUE(created) << key << ": " << created.error().message;
		auto view = reader.openSharedMemory(key, Access::ReadOnly);
		ASSERT_TRUE(view) << key << ": " << view.error().message;
	}
	EXPECT_TRUE(waitFor([&] { return daemonMemfds() == static_cast<int>(2 * kSharedMemories); },
			    2s))
		<< daemonMemfds();
}

TEST_F(SharedMemoryTest, GdbusCreateAndAttach)
{
	auto bad = gdbusCall("/io/github/ipchub1", "io.github.ipchub1.Manager.CreateSharedMemory",
			     {"frame", "0", "{}"});
	EXPECT_NE(bad.status, 0);
	EXPECT_THAT(bad.err, HasSubstr("io.github.ipchub1.Error.InvalidArgument"));
	EXPECT_THAT(bad.err, HasSubstr("size is 0"));

	auto unknown = gdbusCall("/io/github/ipchub1",
				 "io.github.ipchub1.Manager.CreateSharedMemory",
				 {"frame", "4096", "{'max': <uint32 1>}"});
	EXPECT_THAT(unknown.err, HasSubstr("unknown option \"max\""));

	auto created = gdbusCall("/io/github/ipchub1",
				 "io.github.ipchub1.Manager.CreateSharedMemory",
				 {"frame", "4096", "{}"});
	EXPECT_EQ(created.status, 0) << created.err;
	EXPECT_THAT(created.out,
		    MatchesRegex(
			    "\\(objectpath '/io/github/ipchub1/shm/frame', handle [0-9]+\\)\n"));
	// gdbus left the bus, and the shared-memory object went with it.
	auto client = connect();
	ASSERT_TRUE(waitFor(
		[&] { return !client.openSharedMemory("frame", Access::ReadOnly).has_value(); }));

	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	auto attached = gdbusCall(shm->path(), "io.github.ipchub1.SharedMemory.Attach", {"false"});
	EXPECT_EQ(attached.status, 0) << attached.err;
	EXPECT_THAT(attached.out, MatchesRegex("\\(handle [0-9]+, uint64 4096\\)\n"));
	ASSERT_TRUE(shm->seal());
	auto denied = gdbusCall(shm->path(), "io.github.ipchub1.SharedMemory.Attach", {"true"});
	EXPECT_NE(denied.status, 0);
	EXPECT_THAT(denied.err, HasSubstr("io.github.ipchub1.Error.PermissionDenied"));
	auto missing = gdbusCall("/io/github/ipchub1", "io.github.ipchub1.Manager.OpenSharedMemory",
				 {"nothing", "{}"});
	EXPECT_THAT(missing.err, HasSubstr("io.github.ipchub1.Error.NotFound"));
}

TEST_F(SharedMemoryTest, ChangesAreSignalled)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	RawConnection monitor(address());
	monitor.introduce();
	bool sealed = false;
	std::string lockHolder;
	monitor.addMatch(
		"type='signal',path='" + shm->path() +
			"',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'",
		[&](sdbus::Message &message) {
			std::string interface;
			std::map<std::string, sdbus::Variant> changed;
			message >> interface >> changed;
			if (changed.contains("Sealed"))
				sealed = changed["Sealed"].get<bool>();
			if (changed.contains("LockHolder"))
				lockHolder = changed["LockHolder"].get<std::string>();
		});

	ASSERT_TRUE(shm->seal());
	auto held = shm->lock(0us);
	ASSERT_TRUE(held);
	EXPECT_TRUE(monitor.waitFor([&] { return sealed; }));
	EXPECT_TRUE(monitor.waitFor([&] { return lockHolder == client.uniqueName(); }))
		<< lockHolder;
}

} // namespace
} // namespace ipchub::test
