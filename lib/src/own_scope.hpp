// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

namespace ipchub::detail {

// The scope ipchubd puts this process's keys in when a call names no scope: "" on the
// host, the app id inside a Flatpak sandbox, read from the /.flatpak-info that ipchubd
// reads through /proc/PID/root ([Application] name=). "" when the file names no valid
// app or cannot be read, so the service's own checks then decide.
std::string ownScope();

} // namespace ipchub::detail
