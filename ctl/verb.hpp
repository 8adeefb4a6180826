// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What every ipchubctl verb is made of: its name and help, the options it takes, and
// the function that runs it once the arguments are parsed.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ipchub/ipchub.hpp>

namespace ipchub::ctl {

struct OptionSpec {
	std::string_view name; // "--count"
	bool takesValue;
};

// The --scope option every verb takes.
inline constexpr OptionSpec kScopeOption{"--scope", true};

// A verb's arguments after parsing: positional ones, options by name ("" for a flag)
// and, for the verbs that run a command, everything after "--".
struct Arguments {
	std::vector<std::string> positional;
	std::vector<std::pair<std::string, std::string>> options;
	std::vector<std::string> command;

	bool has(std::string_view name) const;
	std::optional<std::string> value(std::string_view name) const;
	// The --scope option as the library takes it.
	OpenOptions openOptions() const;
	// The --timeout option (seconds, fractions allowed), kForever without it.
	Result<std::chrono::microseconds> timeout() const;
};

struct Verb {
	// "sem create", "list": the words that select the verb.
	std::string_view name;
	// What follows the name in the synopsis: "KEY [--initial N]".
	std::string_view synopsis;
	// A one-line summary for the tool's --help.
	std::string_view summary;
	// The verb's --help after the synopsis: options and semantics.
	std::string_view help;
	std::vector<OptionSpec> options;
	size_t minPositional;
	size_t maxPositional;
	bool takesCommand;
	// The exit status; a Result error is printed as one line, status 1.
	std::function<Result<int>(Client &, const Arguments &)> run;
};

std::vector<Verb> objectVerbs(); // list, status, remove, watch
std::vector<Verb> semaphoreVerbs();
std::vector<Verb> sharedMemoryVerbs();
std::vector<Verb> lockVerbs();

// Parses args (the words after the verb's name) as verb says.
Result<Arguments> parseArguments(const Verb &verb, std::span<char *const> args);

} // namespace ipchub::ctl
