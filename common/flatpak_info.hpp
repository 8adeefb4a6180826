// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ipchub::common {

// A Flatpak app's identity, as xdg-desktop-portal reads it: the sandbox's root holds
// /.flatpak-info, a key file whose [Application] group names the app (name=). ipchubd
// reads it in each caller's root, the library in its own process's, the same way.

// Whether id is an app id as Flatpak accepts it: 1..255 bytes of ASCII letters, digits,
// '_', '-' and '.', at least two dot-separated elements, none empty or starting with a
// digit. Anything else cannot be a scope of its own.
bool isValidAppId(std::string_view id);

// The app id that the text of a .flatpak-info names; PermissionDenied when it names
// none, or none that is valid: such a caller is sandboxed but not identifiable, and is
// never taken for a host caller.
Result<std::string> parseFlatpakInfo(std::string_view text);

// The app id of the sandbox whose root directory is rootFd: "" when the root holds no
// .flatpak-info (a host caller). A .flatpak-info that is not a regular file (a FIFO
// would block the service, a symlink could point anywhere), cannot be read, is larger
// than a key file can reasonably be, or names no valid app id: PermissionDenied.
Result<std::string> appIdInRoot(int rootFd);

// appIdInRoot for the root of process pid, through /proc/PID/root; PermissionDenied
// when the process is gone or its root cannot be opened (a caller that cannot be
// identified is never taken for a host caller); LimitExceeded when the service is out of
// descriptors, which passes.
Result<std::string> appIdOfProcess(int pid);

} // namespace ipchub::common
