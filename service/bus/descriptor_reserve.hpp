// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace ipchub::bus {

// ipchubd needs descriptors of its own to go on: to receive the descriptors that come
// with messages, and to identify new callers (a pidfd, /proc/PID/root, .flatpak-info).
// A call that would give out a descriptor (a lock handle, a shared-memory object) is refused with
// LimitExceeded once only reserve descriptors are left below the limit (RLIMIT_NOFILE).
// Descriptors are numbered lowest free first, so the lowest free one tells how full
// the table is; what was closed meanwhile is used again first.
Result<void> checkDescriptorReserve(uint32_t reserve, const std::string &what);

} // namespace ipchub::bus
