// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <vector>

#include <ipchub/result.hpp>

namespace ipchub::ctl {

// Runs command (searched in PATH) as a child and waits for it, as flock(1) does:
// its exit status, or 128 + the signal that ended it; 127 if it cannot be found,
// 126 if it cannot be run. Meanwhile SIGINT and SIGQUIT are ignored here, as
// system(3) does (the terminal sends them to the child too), and SIGTERM and SIGHUP
// are passed on to the child, so that what this process holds is given back only
// once the command has ended.
Result<int> runCommand(const std::vector<std::string> &command);

} // namespace ipchub::ctl
