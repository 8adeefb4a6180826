// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the shared-memory tests share: properties and gdbus calls, a pipe to hear
// from forked children, options and byte helpers.

#include "bus_fixture.hpp"

#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace ipchub::test {

class SharedMemoryTest : public IpchubTest
{
protected:
	// A property of the object at path, as busctl prints it ("u 1", "s \":1.5\"").
	std::string property(const std::string &path, const std::string &name)
	{
		auto result = run({"busctl", "--address=" + address(), "get-property",
				   "io.github.ipchub1", path, "io.github.ipchub1.SharedMemory", name});
		EXPECT_EQ(result.status, 0) << result.err;
		result.out.erase(result.out.find_last_not_of('\n') + 1);
		return result.out;
	}

	CommandResult gdbusCall(const std::string &path, const std::string &method,
				const std::vector<std::string> &args)
	{
		std::vector<std::string> argv{"gdbus", "call", "--session", "--dest",
					      "io.github.ipchub1", "--object-path", path,
					      "--method", method};
		argv.insert(argv.end(), args.begin(), args.end());
		return run(argv);
	}

	// The memfds ipchubd has open.
	int daemonMemfds()
	{
		const std::string dir = "/proc/" + std::to_string(daemonPid()) + "/fd";
		int count = 0;
		DIR *fds = opendir(dir.c_str());
		if (!fds)
			return -1;
		while (dirent *entry = readdir(fds)) {
			char target[256] = {};
			const std::string link = dir + "/" + entry->d_name;
			if (readlink(link.c_str(), target, sizeof target - 1) > 0 &&
			    std::string_view(target).starts_with("/memfd:"))
				++count;
		}
		closedir(fds);
		return count;
	}
};

// Designated initializers that leave members out make GCC 12 warn at -Wextra.
inline SharedMemoryOptions openExisting()
{
	SharedMemoryOptions options;
	options.openExisting = true;
	return options;
}

inline SharedMemoryOptions persistent()
{
	SharedMemoryOptions options;
	options.persistent = true;
	return options;
}

inline void writeText(std::span<std::byte> bytes, size_t offset, std::string_view text)
{
	std::memcpy(bytes.data() + offset, text.data(), text.size());
}

inline std::string readText(std::span<const std::byte> bytes, size_t offset, size_t length)
{
	return std::string(reinterpret_cast<const char *>(bytes.data()) + offset, length);
}

// A pipe for a forked child to say it got somewhere.
struct Signal {
	Signal() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
	~Signal()
	{
		close(fds[0]);
		close(fds[1]);
	}
	void raise() const
	{
		const char c = 'x';
		(void)!write(fds[1], &c, 1);
	}
	bool await() const
	{
		char c;
		return read(fds[0], &c, 1) == 1;
	}
	int fds[2];
};

} // namespace ipchub::test
