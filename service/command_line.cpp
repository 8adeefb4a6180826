// SPDX-License-Identifier: LGPL-2.1-or-later
#include "command_line.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <getopt.h>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "core/limit_table.hpp"

namespace ipchub {

namespace {

enum Option {
	kVersion = 1000,
	kIdleExit,
};

// The limits' options: ids kLimitsBase + their index in limitTable().
constexpr int kLimitsBase = 2000;

// Where --help's descriptions start.
constexpr size_t kTextColumn = 34;

// A size as the options take it: 1G for 1073741824, else in bytes.
std::string sizeText(uint64_t bytes)
{
	for (const auto &[shift, suffix] : {std::pair{30, "G"}, {20, "M"}, {10, "K"}})
		if (bytes != 0 && bytes % (uint64_t{1} << shift) == 0)
			return std::to_string(bytes >> shift) + suffix;
	return std::to_string(bytes);
}

void usage()
{
	const core::Limits defaults;
	std::cout
		<< "Usage: ipchubd [OPTION]...\n"
		   "Serve io.github.ipchub1 on the session bus: named semaphores, shared\n"
		   "memory and locks whose holders are released the moment they leave the bus.\n"
		   "\n"
		   "  -h, --help                      show this help and exit\n"
		   "      --version                   show the version and exit\n"
		   "  -v, --verbose                   log clients that leave the bus holding objects\n"
		   "      --idle-exit=SECONDS         leave the bus after SECONDS with no objects\n"
		   "                                  (0, the default: never); bus activation\n"
		   "                                  starts ipchubd again on the next call\n"
		   "\n"
		   "Limits (shown in the Manager's Limits property), with their defaults:\n";
	for (const auto &limit : core::limitTable()) {
		if (!limit.option)
			continue;
		const uint64_t value = core::limitValue(defaults, limit);
		std::string flag =
			"--" + core::limitOption(limit) + (limit.bytes ? "=BYTES" : "=N");
		std::cout << "      " << flag;
		size_t column = 6 + flag.size();
		const std::string words = std::string(limit.description) + " (" +
					  (limit.bytes ? sizeText(value) : std::to_string(value)) +
					  ")";
		size_t start = 0;
		while (start < words.size()) {
			size_t end = words.find(' ', start);
			if (end == std::string::npos)
				end = words.size();
			const size_t width = end - start;
			// The text in its column from 34 on, lines up to 80 wide.
			if (column >= kTextColumn - 1 && column + 1 + width > 80) {
				std::cout << "\n" << std::string(kTextColumn, ' ');
				column = kTextColumn;
			} else {
				const size_t to = std::max(column + 1, kTextColumn);
				std::cout << std::string(to - column, ' ');
				column = to;
			}
			std::cout << words.substr(start, width);
			column += width;
			start = end + 1;
		}
		std::cout << "\n";
	}
	std::cout << "BYTES takes a K, M or G suffix (powers of 1024).\n";
}

// A decimal number, with an optional K/M/G suffix when bytes is set; at least 1
// unless zero is allowed.
std::optional<uint64_t> parseNumber(const char *text, bool bytes, bool allowZero)
{
	errno = 0;
	char *end = nullptr;
	if (*text == '-' || *text == '\0')
		return std::nullopt;
	unsigned long long value = std::strtoull(text, &end, 10);
	if (errno != 0 || end == text)
		return std::nullopt;
	unsigned shift = 0;
	if (bytes && *end != '\0') {
		switch (*end++) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		default:
			return std::nullopt;
		}
	}
	if (*end != '\0' || value > (std::numeric_limits<uint64_t>::max() >> shift))
		return std::nullopt;
	if (value == 0 && !allowZero)
		return std::nullopt;
	return static_cast<uint64_t>(value) << shift;
}

} // namespace

ParsedCommandLine parseCommandLine(int argc, char **argv)
{
	static const std::vector<std::string> kLimitOptions = [] {
		std::vector<std::string> names;
		for (const auto &limit : core::limitTable())
			names.push_back(core::limitOption(limit));
		return names;
	}();
	static const std::vector<option> kOptions = [] {
		std::vector<option> options{
			{"help", no_argument, nullptr, 'h'},
			{"version", no_argument, nullptr, kVersion},
			{"verbose", no_argument, nullptr, 'v'},
			{"idle-exit", required_argument, nullptr, kIdleExit},
		};
		const auto limits = core::limitTable();
		for (size_t i = 0; i < limits.size(); ++i)
			if (limits[i].option)
				options.push_back({kLimitOptions[i].c_str(), required_argument,
						   nullptr, kLimitsBase + static_cast<int>(i)});
		options.push_back({nullptr, 0, nullptr, 0});
		return options;
	}();

	CommandLine commandLine;
	auto bad = [](const char *name, const char *value, const char *what) {
		std::cerr << "ipchubd: --" << name << "=" << value << ": " << what << "\n"
			  << "Try 'ipchubd --help'.\n";
		return ParsedCommandLine{std::nullopt, 2};
	};
	optind = 1;
	for (int index = 0, c;
	     (c = getopt_long(argc, argv, "hv", kOptions.data(), &index)) != -1;) {
		const char *name = kOptions[index].name;
		switch (c) {
		case 'h':
			usage();
			return {std::nullopt, 0};
		case kVersion:
			std::cout << "ipchubd " IPCHUB_VERSION "\n";
			return {std::nullopt, 0};
		case 'v':
			commandLine.verbose = true;
			break;
		case kIdleExit: {
			auto seconds = parseNumber(optarg, false, true);
			if (!seconds || *seconds > UINT32_MAX)
				return bad(name, optarg, "not a number of seconds");
			commandLine.idleExitSeconds = *seconds;
			break;
		}
		default: {
			const auto limits = core::limitTable();
			const int index = c - kLimitsBase;
			if (index < 0 || index >= static_cast<int>(limits.size())) {
				std::cerr << "Try 'ipchubd --help'.\n";
				return {std::nullopt, 2};
			}
			const auto &limit = limits[index];
			const auto value =
				parseNumber(optarg, limit.bytes != nullptr, limit.zeroAllowed);
			if (!value && limit.bytes)
				return bad(name, optarg, "not a size in bytes (K, M, G suffixes)");
			if (!value || (!limit.bytes && *value > UINT32_MAX))
				return bad(name, optarg,
					   limit.zeroAllowed ? "not a count from 0 to 4294967295"
							     : "not a count from 1 to 4294967295");
			if (limit.max != 0 && *value > limit.max)
				return bad(name, optarg,
					   ("above " + std::to_string(limit.max) + ", its most")
						   .c_str());
			core::setLimit(commandLine.limits, limit, *value);
			break;
		}
		}
	}
	if (optind < argc) {
		std::cerr << "ipchubd: unexpected argument '" << argv[optind] << "'\n"
			  << "Try 'ipchubd --help'.\n";
		return {std::nullopt, 2};
	}
	// systemd 254 and later tell the store's size; older ones leave it to the unit's
	// command line.
	if (const char *stored = std::getenv("FDSTORE"))
		if (auto count = parseNumber(stored, false, false); count && *count <= UINT32_MAX)
			commandLine.limits.fdStoreMax = static_cast<uint32_t>(*count);
	return {commandLine, 0};
}

} // namespace ipchub
