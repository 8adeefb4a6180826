// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/lock_mode.hpp"

#include <string>

namespace ipchub::common {

Result<LockMode> parseLockMode(std::string_view mode)
{
	if (mode == "exclusive")
		return LockMode::Exclusive;
	if (mode == "shared")
		return LockMode::Shared;
	return fail(ErrorCode::InvalidArgument, "mode \"" + std::string(mode) +
							"\" is not a lock mode; it must be " +
							"\"exclusive\" or \"shared\"");
}

std::string_view lockModeName(LockMode mode)
{
	return mode == LockMode::Exclusive ? "exclusive" : "shared";
}

} // namespace ipchub::common
