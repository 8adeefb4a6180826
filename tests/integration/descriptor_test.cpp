// SPDX-License-Identifier: LGPL-2.1-or-later
// Every descriptor libipchub receives (shared-memory objects from CreateSharedMemory and Attach,
// lock handles) is close-on-exec from the start: no program the process runs inherits one.

#include "bus_fixture.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <utility>

#include <gmock/gmock.h>

namespace ipchub::test {
namespace {

// The descriptors of this process that an exec'd program would inherit.
std::set<int> inheritableFds()
{
	std::set<int> fds;
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return fds;
	while (const dirent *entry = readdir(dir)) {
		if (entry->d_name[0] == '.')
			continue;
		const int fd = std::stoi(entry->d_name);
		if (fd == dirfd(dir))
			continue;
		const int flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC))
			fds.insert(fd);
	}
	closedir(dir);
	return fds;
}

using FileId = std::pair<dev_t, ino_t>;

FileId fileOf(int fd)
{
	struct stat st {
	};
	EXPECT_EQ(fstat(fd, &st), 0) << "fd " << fd;
	return {st.st_dev, st.st_ino};
}

// The files an exec'd shell holds open, as device and inode.
std::set<FileId> filesOfExecdChild()
{
	// The glob's own directory descriptor is gone by the time the loop reaches it.
	const auto listed = run({"sh", "-c",
				 "for f in /proc/$$/fd/*; do [ -e \"$f\" ] || continue; "
				 "stat -L -c '%d %i' \"$f\" || exit 1; done"});
	EXPECT_EQ(listed.status, 0) << listed.err;
	std::set<FileId> files;
	std::istringstream lines(listed.out);
	unsigned long long dev = 0, ino = 0;
	while (lines >> dev >> ino)
		files.emplace(static_cast<dev_t>(dev), static_cast<ino_t>(ino));
	EXPECT_FALSE(files.empty()) << "the child listed no descriptor at all";
	return files;
}

using DescriptorTest = IpchubTest;

TEST_F(DescriptorTest, NoReceivedDescriptorIsInheritable)
{
	const std::set<int> before = inheritableFds();
	auto client = connect();
	auto created = client.createSharedMemory("frame", 4096);
	ASSERT_TRUE(created) << created.error().message;
	auto writable = client.openSharedMemory("frame", Access::ReadWrite);
	ASSERT_TRUE(writable) << writable.error().message;
	auto readOnly = client.openSharedMemory("frame", Access::ReadOnly);
	ASSERT_TRUE(readOnly) << readOnly.error().message;
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock) << lock.error().message;
	auto handle = lock->acquireHandle(LockMode::Shared, 5s);
	ASSERT_TRUE(handle) << handle.error().message;

	const std::vector<std::pair<const char *, int>> held{
		{"created shared-memory object", created->fd()},
		{"writable attach", writable->fd()},
		{"read-only attach", readOnly->fd()},
		{"lock handle", handle->fd()},
	};
	for (const auto &[what, fd] : held) {
		ASSERT_GE(fd, 0) << what;
		EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC) << what << " (fd " << fd << ")";
	}
	// Nor did anything else the library did leave an inheritable copy behind.
	EXPECT_EQ(inheritableFds(), before);

	const std::set<FileId> inherited = filesOfExecdChild();
	for (const auto &[what, fd] : held)
		EXPECT_FALSE(inherited.contains(fileOf(fd)))
			<< "an exec'd child holds the " << what;
}

} // namespace
} // namespace ipchub::test
