// SPDX-License-Identifier: LGPL-2.1-or-later
#include "process_identity.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/flatpak_info.hpp"

namespace ipchub::core {

namespace {

// Descriptors run out for a while (the service at its limit): the caller may try again.
bool outOfDescriptors(int error)
{
	return error == EMFILE || error == ENFILE || error == ENOMEM;
}

detail::Unexpected<Error> exited(pid_t pid)
{
	return fail(ErrorCode::PermissionDenied,
		    "cannot identify the caller: its process " +
			    (pid > 0 ? "(pid " + std::to_string(pid) + ") " : std::string()) +
			    "has exited");
}

} // namespace

Result<UniqueFd> openPidfd(pid_t pid)
{
	UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
	if (!fd) {
		const int error = errno;
		if (outOfDescriptors(error))
			return fail(ErrorCode::LimitExceeded,
				    "cannot identify the caller now: pidfd_open: " +
					    std::string(std::strerror(error)));
		if (error == ESRCH)
			return exited(pid);
		return fail(ErrorCode::PermissionDenied, "cannot identify the caller: pidfd_open(" +
								 std::to_string(pid) +
								 "): " + std::strerror(error));
	}
	// pidfd_open sets O_CLOEXEC itself.
	return fd;
}

Result<pid_t> pidOfPidfd(int pidfd)
{
	const std::string path = "/proc/self/fdinfo/" + std::to_string(pidfd);
	UniqueFd info(open(path.c_str(), O_RDONLY | O_CLOEXEC));
	if (!info) {
		const int error = errno;
		if (outOfDescriptors(error))
			return fail(ErrorCode::LimitExceeded,
				    "cannot identify the caller now: " + path + ": " +
					    std::strerror(error));
		return fail(ErrorCode::PermissionDenied,
			    "cannot identify the caller: " + path + ": " + std::strerror(error));
	}
	char buffer[4096];
	ssize_t length = 0;
	while (true) {
		length = read(info.get(), buffer, sizeof buffer - 1);
		if (length >= 0 || errno != EINTR)
			break;
	}
	if (length <= 0)
		return fail(ErrorCode::PermissionDenied,
			    "cannot identify the caller: " + path + " cannot be read");
	buffer[length] = '\0';
	const char *field = std::strstr(buffer, "\nPid:");
	if (!field)
		return fail(ErrorCode::PermissionDenied,
			    "cannot identify the caller: its process descriptor is not a pidfd");
	// -1: the process has exited and been reaped; 0: it is in a pid namespace that
	// this one does not see.
	const long pid = std::strtol(field + 5, nullptr, 10);
	if (pid <= 0)
		return pid < 0 ? exited(0)
			       : fail(ErrorCode::PermissionDenied,
				      "cannot identify the caller: its process is not visible from "
				      "the service's pid namespace");
	return static_cast<pid_t>(pid);
}

bool hasExited(int pidfd)
{
	pollfd watch{.fd = pidfd, .events = POLLIN, .revents = 0};
	while (poll(&watch, 1, 0) < 0)
		if (errno != EINTR)
			return true;
	return (watch.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

Result<ProcessIdentity> identifyProcess(int pidfd)
{
	const auto pid = pidOfPidfd(pidfd);
	if (!pid)
		return errorOf(pid);
	auto appId = common::appIdOfProcess(*pid);
	// Checked after the read: the process was alive all along, so /proc/PID was its.
	if (hasExited(pidfd))
		return exited(*pid);
	if (!appId)
		return errorOf(appId);
	return ProcessIdentity{*pid, std::move(*appId)};
}

} // namespace ipchub::core
