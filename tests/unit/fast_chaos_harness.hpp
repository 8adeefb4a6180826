// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the chaos runs share, on the bare words (tests/unit) and through libipchub and
// the bus (tests/integration): workers started as the first process of a PID namespace
// each (so that their threads have the same TIDs), the holder's check that nobody else
// entered, and the length of a run.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <sched.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "futex.hpp"

namespace ipchub::fast::test {

// Stays inside for a moment with token written into fence, checking that nobody else
// entered (wrote theirs) meanwhile.
inline bool holdAndCheck(std::atomic<uint32_t> &fence, uint32_t token)
{
	fence.store(token);
	bool alone = true;
	for (int i = 0; i < 64; ++i) {
		cpuRelax();
		if (fence.load(std::memory_order_relaxed) != token)
			alone = false;
	}
	return alone && fence.load() == token;
}

// Starts body as the first process (PID 1) of a new PID namespace, a child of this
// process (a subreaper): unshare(CLONE_NEWPID) in an intermediate child whose next fork
// enters the namespace. Returns the pid, or -errno of the unshare.
inline pid_t spawnInPidNamespace(const std::function<int()> &body)
{
	int pipeFds[2];
	if (pipe2(pipeFds, O_CLOEXEC) < 0)
		return -errno;
	UniqueFd readEnd(pipeFds[0]);
	UniqueFd writeEnd(pipeFds[1]);
	const pid_t middle = fork();
	if (middle == 0) {
		readEnd.reset();
		pid_t result = -EINVAL;
		if (unshare(CLONE_NEWPID) < 0) {
			result = -errno;
		} else {
			result = fork();
			if (result == 0) {
				writeEnd.reset();
				_exit(body());
			}
		}
		(void)!write(writeEnd.get(), &result, sizeof result);
		_exit(0);
	}
	writeEnd.reset();
	pid_t worker = -EIO;
	if (read(readEnd.get(), &worker, sizeof worker) != sizeof worker)
		worker = -EIO;
	waitpid(middle, nullptr, 0);
	return worker;
}

// Why this process cannot start workers in PID namespaces; "" when it can. Needs
// PR_SET_CHILD_SUBREAPER set (the workers' parents exit at once).
inline std::string pidNamespacesUnavailable()
{
	if (geteuid() != 0)
		return "PID namespaces need root (unshare(CLONE_NEWPID))";
	const pid_t probe = spawnInPidNamespace([] { return getpid() == 1 ? 0 : 1; });
	if (probe < 0)
		return std::string("unshare(CLONE_NEWPID) is not permitted here: ") +
		       std::strerror(-probe);
	int status = 0;
	if (waitpid(probe, &status, 0) != probe || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return "the worker is not PID 1 of its namespace";
	return "";
}

// The length of a chaos run: IPCHUB_FAST_CHAOS_SECONDS (20 is the long run), else
// defaultSeconds.
inline uint64_t chaosMilliseconds(double defaultSeconds)
{
	const char *env = std::getenv("IPCHUB_FAST_CHAOS_SECONDS");
	const double seconds = env ? std::atof(env) : defaultSeconds;
	return static_cast<uint64_t>((seconds > 0 ? seconds : defaultSeconds) * 1000);
}

} // namespace ipchub::fast::test
