// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the fast-object tests share: a page ipchubd would create, plain shared memory
// for the tests' own records, child processes, and bounded waits.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "layout.hpp"
#include "page.hpp"

namespace ipchub::fast::test {

// A page as ipchubd holds it: its descriptor and its own mapping.
struct ServicePage {
	UniqueFd fd;
	Mapping mapping;

	explicit ServicePage(size_t size)
	{
		auto created = createPage("fast-test", size);
		EXPECT_TRUE(created) << describe(created.error());
		fd = std::move(*created);
		auto mapped = mapPage(fd.get(), size);
		EXPECT_TRUE(mapped) << describe(mapped.error());
		mapping = std::move(*mapped);
	}

	// A client's mapping of the same page, made the way the library makes it.
	Mapping mapAsClient() const
	{
		auto mapped = mapReceivedPage(UniqueFd(fcntl(fd.get(), F_DUPFD_CLOEXEC, 0)),
					      mapping.size());
		if (!mapped) {
			std::fprintf(stderr, "mapReceivedPage: %s\n",
				     describe(mapped.error()).c_str());
			_exit(90);
		}
		return std::move(*mapped);
	}
};

// Anonymous shared memory for the tests' own counters, inherited by forked children.
template <typename T>
class SharedRecord
{
public:
	SharedRecord()
	{
		void *p = mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		EXPECT_NE(p, MAP_FAILED);
		record_ = new (p) T();
	}
	~SharedRecord() { munmap(record_, sizeof(T)); }
	SharedRecord(const SharedRecord &) = delete;
	SharedRecord &operator=(const SharedRecord &) = delete;

	T *operator->() const { return record_; }
	T &operator*() const { return *record_; }

private:
	T *record_;
};

// Runs body in a forked child that exits with its return value, never returning into
// the test framework.
inline pid_t forkChild(const std::function<int()> &body)
{
	const pid_t pid = fork();
	if (pid == 0)
		_exit(body());
	return pid;
}

// Polls cond every millisecond for at most timeout.
inline bool waitFor(const std::function<bool()> &cond,
		    std::chrono::milliseconds timeout = std::chrono::seconds(5))
{
	const auto end = std::chrono::steady_clock::now() + timeout;
	while (std::chrono::steady_clock::now() < end) {
		if (cond())
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return cond();
}

// Whether a single-threaded process sleeps in a futex call: read from
// /proc/PID/syscall, whose first field is the number of the call it is blocked in.
inline bool sleepsInFutex(pid_t pid)
{
	const std::string path = "/proc/" + std::to_string(pid) + "/syscall";
	FILE *f = std::fopen(path.c_str(), "r");
	if (!f)
		return false;
	long nr = -1;
	const int got = std::fscanf(f, "%ld", &nr);
	std::fclose(f);
	return got == 1 && nr == SYS_futex;
}

// The exit code of a child, or 128 + signal; -1 when it did not end within timeout.
inline int reap(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
	int status = 0;
	int code = -1;
	waitFor(
		[&] {
			const pid_t r = waitpid(pid, &status, WNOHANG);
			if (r != pid)
				return false;
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return true;
		},
		timeout);
	if (code == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return code;
}

} // namespace ipchub::fast::test
