// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The names of the lock modes on the bus ("exclusive", "shared"). LockMode itself is
// defined by the library's public header (Lock::acquire takes it), which this reuses.

#include <string_view>

#include <ipchub/lock_mode.hpp>

#include "common/result.hpp"

namespace ipchub::common {

// "exclusive" or "shared"; anything else is InvalidArgument naming the mode.
Result<LockMode> parseLockMode(std::string_view mode);
std::string_view lockModeName(LockMode mode);

} // namespace ipchub::common
