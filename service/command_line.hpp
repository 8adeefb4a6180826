// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/limits.hpp"

namespace ipchub {

// What ipchubd's command line asks for.
struct CommandLine {
	core::Limits limits;
	// Leave the bus after this many seconds with no objects (0: never).
	uint64_t idleExitSeconds = 0;
	bool verbose = false;
};

// The parsed command line, or the exit status when ipchubd should stop at once
// (--help, --version: 0; a bad option: 2, with a message on stderr).
struct ParsedCommandLine {
	std::optional<CommandLine> commandLine;
	int exitStatus = 0;
};

ParsedCommandLine parseCommandLine(int argc, char **argv);

} // namespace ipchub
