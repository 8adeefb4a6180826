// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <sys/types.h>

#include "common/result.hpp"

#include "common/unique_fd.hpp"

namespace ipchub::core {

// A caller's identity bound to its process through a pidfd, as logind and
// xdg-desktop-portal do it: /proc/PID/root is read by pid, and a pid can be another
// process's by the time it is read (the caller exited, its pid was reused). The pidfd
// keeps naming the caller's own process: if that process is still running after the
// read, the pid was its own all along.

// A pidfd of process pid (pidfd_open). PermissionDenied when it has exited;
// LimitExceeded when the service is out of descriptors (a passing condition).
Result<UniqueFd> openPidfd(pid_t pid);

// The pid of pidfd's process in the service's pid namespace (/proc/self/fdinfo, "Pid:").
// PermissionDenied when it has exited or is not visible from here.
Result<pid_t> pidOfPidfd(int pidfd);

// Whether pidfd's process has exited (its pidfd polls readable).
bool hasExited(int pidfd);

struct ProcessIdentity {
	pid_t pid = 0;
	// "" for a host process; the app id of a Flatpak-sandboxed one.
	std::string appId;
};

// pidfd's process: its pid, and its app id read from its root's /.flatpak-info
// (appIdOfProcess), given only if that process was still running after the read.
// PermissionDenied when it has exited; LimitExceeded when the service is out of
// descriptors.
Result<ProcessIdentity> identifyProcess(int pidfd);

} // namespace ipchub::core
