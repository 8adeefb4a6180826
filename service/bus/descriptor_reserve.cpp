// SPDX-License-Identifier: LGPL-2.1-or-later
#include "descriptor_reserve.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

namespace ipchub::bus {

Result<void> checkDescriptorReserve(uint32_t reserve, const std::string &what)
{
	rlimit limit{};
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY)
		return {};
	const auto refuse = [&](const std::string &why) {
		return fail(ErrorCode::LimitExceeded,
			    "cannot give out " + what + ": " + why + "; the service keeps " +
				    std::to_string(reserve) +
				    " descriptors free (descriptor_reserve) of its limit of " +
				    std::to_string(limit.rlim_cur));
	};
	// The lowest free number: a copy of stderr lands there (any descriptor would do).
	UniqueFd probe(fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0));
	if (!probe)
		return errno == EBADF ? Result<void>() : refuse("no descriptor is free");
	const auto lowestFree = static_cast<rlim_t>(probe.get());
	if (lowestFree + reserve >= limit.rlim_cur)
		return refuse("descriptors 0 to " + std::to_string(lowestFree - 1) + " are open");
	return {};
}

} // namespace ipchub::bus
