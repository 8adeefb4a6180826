// SPDX-License-Identifier: LGPL-2.1-or-later
// What a client holding a descriptor can do to a shared-memory object's memfd behind ipchubd's back
// (change its mode, add seals, re-open it), and what stays true: read-only attaches
// keep working, Sealed and Seal() tell the kernel's state, and a sealed shared-memory object stays
// unwritable through any descriptor.

#include "shared_memory_fixture.hpp"

#include <cerrno>
#include <cstring>
#include <linux/falloc.h>

#include "common/unique_fd.hpp"
#include <sys/mman.h>
#include <sys/stat.h>

namespace ipchub::test {
namespace {

TEST_F(SharedMemoryTest, ReadOnlyAttachSurvivesAWritersChmod)
{
	// The tests run as root, whom file modes do not stop: ipchubd runs without the
	// capabilities that override them, as it does for an unprivileged user.
	stopDaemon();
	startDaemon({}, {"setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"});
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm) << shm.error().message;
	writeText(shm->data(), 0, "before");
	// A writer takes every permission off the memfd before anyone attached read-only.
	ASSERT_EQ(fchmod(shm->fd(), 0), 0);

	auto reader = connect();
	auto view = reader.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view) << view.error().message;
	EXPECT_EQ(readText(view->constData(), 0, 6), "before");
	EXPECT_EQ(fcntl(view->fd(), F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST_F(SharedMemoryTest, AWriteSealAClientAddedShowsAsSealed)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	ASSERT_EQ(fcntl(shm->fd(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);

	EXPECT_EQ(shm->sealed().value_or(false), true);
	EXPECT_EQ(property(shm->path(), "Sealed"), "b true");
	auto other = connect();
	auto writable = other.openSharedMemory("frame", Access::ReadWrite);
	ASSERT_FALSE(writable) << "a writable attach of a shared-memory object nobody can write";
	EXPECT_EQ(writable.error().code, ErrorCode::PermissionDenied);
	// Seal() closes the seals the client left open.
	ASSERT_TRUE(shm->seal());
	EXPECT_EQ(fcntl(shm->fd(), F_GET_SEALS),
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
}

TEST_F(SharedMemoryTest, SealAfterAWriterClosedTheSealsSaysWhyAndStaysUnsealed)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	ASSERT_EQ(fcntl(shm->fd(), F_ADD_SEALS, F_SEAL_SEAL), 0);

	auto sealed = shm->seal();
	ASSERT_FALSE(sealed);
	EXPECT_EQ(sealed.error().code, ErrorCode::PermissionDenied);
	EXPECT_NE(sealed.error().message.find("F_SEAL_SEAL"), std::string::npos)
		<< sealed.error().message;
	EXPECT_EQ(shm->sealed().value_or(true), false);
	EXPECT_EQ(property(shm->path(), "Sealed"), "b false");
	// Still what it was: a writable shared-memory object.
	auto other = connect();
	auto writable = other.openSharedMemory("frame", Access::ReadWrite);
	ASSERT_TRUE(writable) << writable.error().message;
	writeText(writable->data(), 0, "still");
	EXPECT_EQ(readText(shm->constData(), 0, 5), "still");
}

// A read-only descriptor is no barrier against the process that holds it (the memfd
// is its user's: fchmod, then a read-write re-open); Seal is, for every descriptor.
TEST_F(SharedMemoryTest, SealHoldsAgainstAReadOnlyDescriptorReopenedReadWrite)
{
	auto client = connect();
	auto shm = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(shm);
	writeText(shm->data(), 0, "final");
	auto reader = connect();
	auto view = reader.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(view);
	ASSERT_EQ(fchmod(view->fd(), 0600), 0);
	const std::string self = "/proc/self/fd/" + std::to_string(view->fd());
	UniqueFd reopened(open(self.c_str(), O_RDWR | O_CLOEXEC));
	ASSERT_TRUE(reopened) << std::strerror(errno);

	ASSERT_TRUE(shm->seal());
	EXPECT_EQ(pwrite(reopened.get(), "x", 1, 0), -1);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(fallocate(reopened.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096),
		  -1);
	EXPECT_EQ(errno, EPERM);
	void *mapped = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, reopened.get(), 0);
	EXPECT_EQ(mapped, MAP_FAILED);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(fcntl(reopened.get(), F_ADD_SEALS, F_SEAL_WRITE), -1);
	EXPECT_EQ(readText(view->constData(), 0, 5), "final");
}

} // namespace
} // namespace ipchub::test
