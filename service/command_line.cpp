#include "command_line.hpp"

#include <cerrno>
#include <cstdlib>
#include <getopt.h>
#include <iostream>
#include <limits>

namespace ipchub {

namespace {

enum Option {
	kVersion = 1000,
	kIdleExit,
	kObjectsPerConnection,
	kWaitsPerConnection,
	kWaitersPerObject,
	kSegmentSize,
	kBytesPerConnection,
	kFdStoreMax,
};

void usage()
{
	const core::Limits defaults;
	std::cout << "Usage: ipchubd [OPTION]...\n"
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
		     "Limits (shown in the Manager's Limits property):\n"
		     "      --objects-per-connection=N  objects one connection may reference ("
		  << defaults.objectsPerConnection
		  << ")\n"
		     "      --waits-per-connection=N    waits one connection may queue ("
		  << defaults.waitsPerConnection
		  << ")\n"
		     "      --waiters-per-object=N      waits queued on one object ("
		  << defaults.waitersPerObject
		  << ")\n"
		     "      --segment-size=BYTES        largest shared-memory segment ("
		  << defaults.segmentSize
		  << ")\n"
		     "      --bytes-per-connection=BYTES  shared memory one connection may create ("
		  << defaults.bytesPerConnection
		  << ")\n"
		     "      --fd-store-max=N            descriptors the service manager keeps for\n"
		     "                                  ipchubd: its FileDescriptorStoreMax= ("
		  << defaults.fdStoreMax
		  << ");\n"
		     "                                  $FDSTORE, where systemd sets it, wins\n"
		     "BYTES takes a K, M or G suffix (powers of 1024).\n";
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
	static const option kOptions[] = {
		{"help", no_argument, nullptr, 'h'},
		{"version", no_argument, nullptr, kVersion},
		{"verbose", no_argument, nullptr, 'v'},
		{"idle-exit", required_argument, nullptr, kIdleExit},
		{"objects-per-connection", required_argument, nullptr, kObjectsPerConnection},
		{"waits-per-connection", required_argument, nullptr, kWaitsPerConnection},
		{"waiters-per-object", required_argument, nullptr, kWaitersPerObject},
		{"segment-size", required_argument, nullptr, kSegmentSize},
		{"bytes-per-connection", required_argument, nullptr, kBytesPerConnection},
		{"fd-store-max", required_argument, nullptr, kFdStoreMax},
		{nullptr, 0, nullptr, 0},
	};

	CommandLine commandLine;
	auto bad = [](const char *name, const char *value, const char *what) {
		std::cerr << "ipchubd: --" << name << "=" << value << ": " << what << "\n"
			  << "Try 'ipchubd --help'.\n";
		return ParsedCommandLine{std::nullopt, 2};
	};
	optind = 1;
	for (int index = 0, c; (c = getopt_long(argc, argv, "hv", kOptions, &index)) != -1;) {
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
		case kObjectsPerConnection:
		case kWaitsPerConnection:
		case kWaitersPerObject:
		case kFdStoreMax: {
			auto count = parseNumber(optarg, false, false);
			if (!count || *count > UINT32_MAX)
				return bad(name, optarg, "not a count from 1 to 4294967295");
			const auto value = static_cast<uint32_t>(*count);
			if (c == kObjectsPerConnection)
				commandLine.limits.objectsPerConnection = value;
			else if (c == kWaitsPerConnection)
				commandLine.limits.waitsPerConnection = value;
			else if (c == kFdStoreMax)
				commandLine.limits.fdStoreMax = value;
			else
				commandLine.limits.waitersPerObject = value;
			break;
		}
		case kSegmentSize:
		case kBytesPerConnection: {
			auto bytes = parseNumber(optarg, true, false);
			if (!bytes)
				return bad(name, optarg, "not a size in bytes (K, M, G suffixes)");
			if (c == kSegmentSize)
				commandLine.limits.segmentSize = *bytes;
			else
				commandLine.limits.bytesPerConnection = *bytes;
			break;
		}
		default:
			std::cerr << "Try 'ipchubd --help'.\n";
			return {std::nullopt, 2};
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
