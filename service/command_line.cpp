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

#include "core/snapshot_size.hpp"

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
	kInterestedPeersPerObject,
	kInterestsPerConnection,
	kUnreadSignalsPerConnection,
	kGrantsPerConnection,
	kGrantsTotal,
	kHandlesPerConnection,
	kHandlesTotal,
	kDescriptorReserve,
	kFdStoreMax,
};

// The totals across connections, option ids kTotalsBase + index.
constexpr int kTotalsBase = 2000;
struct TotalOption {
	const char *name;
	uint32_t core::Limits::*count;
	uint64_t core::Limits::*bytes;
	const char *help;
};
constexpr TotalOption kTotals[] = {
	{"objects-per-uid", &core::Limits::objectsPerUid, nullptr,
	 "objects a user's host connections may reference together"},
	{"objects-per-app", &core::Limits::objectsPerApp, nullptr,
	 "objects one app id's connections may reference together"},
	{"waits-per-uid", &core::Limits::waitsPerUid, nullptr,
	 "waits a user's host connections may queue together"},
	{"waits-per-app", &core::Limits::waitsPerApp, nullptr,
	 "waits one app id's connections may queue together"},
	{"grants-per-uid", &core::Limits::grantsPerUid, nullptr,
	 "lock grants a user's host connections may hold together"},
	{"grants-per-app", &core::Limits::grantsPerApp, nullptr,
	 "lock grants one app id's connections may hold together"},
	{"bytes-per-uid", nullptr, &core::Limits::bytesPerUid,
	 "shared memory a user's host connections may create together"},
	{"bytes-per-app", nullptr, &core::Limits::bytesPerApp,
	 "shared memory one app id's connections may create together"},
	{"persistent-objects-per-uid", &core::Limits::persistentObjectsPerUid, nullptr,
	 "persistent objects a user's host connections may keep"},
	{"persistent-objects-per-app", &core::Limits::persistentObjectsPerApp, nullptr,
	 "persistent objects one app id may keep"},
	{"persistent-bytes-per-uid", nullptr, &core::Limits::persistentBytesPerUid,
	 "saved state and segment bytes of a user's host persistent objects"},
	{"persistent-bytes-per-app", nullptr, &core::Limits::persistentBytesPerApp,
	 "saved state and segment bytes of one app id's persistent objects"},
	{"state-bytes", nullptr, &core::Limits::stateBytes,
	 "saved state of all persistent objects (at most 128M)"},
};

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
		   "      --interested-peers-per-object=N  peers told of one object's changes,\n"
		   "                                  and watchers ("
		<< defaults.interestedPeersPerObject
		<< ")\n"
		   "      --interests-per-connection=N  objects one connection is told of ("
		<< defaults.interestsPerConnection
		<< ")\n"
		   "      --unread-signals-per-connection=N  signals one connection may leave\n"
		   "                                  unread before its changes are held back ("
		<< defaults.unreadSignalsPerConnection
		<< ")\n"
		   "      --grants-per-connection=N   lock grants one connection may hold ("
		<< defaults.grantsPerConnection
		<< ")\n"
		   "      --grants-total=N            lock grants of all connections ("
		<< defaults.grantsTotal
		<< ")\n"
		   "      --handles-per-connection=N  lock handles one connection may hold ("
		<< defaults.handlesPerConnection
		<< ")\n"
		   "      --handles-total=N           lock handles of all connections ("
		<< defaults.handlesTotal
		<< ")\n"
		   "      --descriptor-reserve=N      descriptors kept free below the limit: no\n"
		   "                                  call may take them ("
		<< defaults.descriptorReserve
		<< ")\n"
		   "      --fd-store-max=N            descriptors the service manager keeps for\n"
		   "                                  ipchubd: its FileDescriptorStoreMax= ("
		<< defaults.fdStoreMax
		<< ");\n"
		   "                                  $FDSTORE, where systemd sets it, wins\n";
	for (const auto &total : kTotals) {
		std::string flag = std::string("--") + total.name + (total.bytes ? "=BYTES" : "=N");
		flag.resize(std::max<size_t>(flag.size() + 1, 32), ' ');
		std::cout << "      " << flag << total.help << " ("
			  << (total.bytes ? defaults.*total.bytes : defaults.*total.count) << ")\n";
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
	static const std::vector<option> kOptions = [] {
		std::vector<option> options{
			{"help", no_argument, nullptr, 'h'},
			{"version", no_argument, nullptr, kVersion},
			{"verbose", no_argument, nullptr, 'v'},
			{"idle-exit", required_argument, nullptr, kIdleExit},
			{"objects-per-connection", required_argument, nullptr,
			 kObjectsPerConnection},
			{"waits-per-connection", required_argument, nullptr, kWaitsPerConnection},
			{"waiters-per-object", required_argument, nullptr, kWaitersPerObject},
			{"segment-size", required_argument, nullptr, kSegmentSize},
			{"bytes-per-connection", required_argument, nullptr, kBytesPerConnection},
			{"interested-peers-per-object", required_argument, nullptr,
			 kInterestedPeersPerObject},
			{"interests-per-connection", required_argument, nullptr,
			 kInterestsPerConnection},
			{"unread-signals-per-connection", required_argument, nullptr,
			 kUnreadSignalsPerConnection},
			{"grants-per-connection", required_argument, nullptr, kGrantsPerConnection},
			{"grants-total", required_argument, nullptr, kGrantsTotal},
			{"handles-per-connection", required_argument, nullptr, kHandlesPerConnection},
			{"handles-total", required_argument, nullptr, kHandlesTotal},
			{"descriptor-reserve", required_argument, nullptr, kDescriptorReserve},
			{"fd-store-max", required_argument, nullptr, kFdStoreMax},
		};
		for (size_t i = 0; i < std::size(kTotals); ++i)
			options.push_back({kTotals[i].name, required_argument, nullptr,
					   kTotalsBase + static_cast<int>(i)});
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
		case kObjectsPerConnection:
		case kWaitsPerConnection:
		case kWaitersPerObject:
		case kInterestedPeersPerObject:
		case kInterestsPerConnection:
		case kUnreadSignalsPerConnection:
		case kGrantsPerConnection:
		case kGrantsTotal:
		case kHandlesPerConnection:
		case kHandlesTotal:
		case kFdStoreMax: {
			auto count = parseNumber(optarg, false, false);
			if (!count || *count > UINT32_MAX)
				return bad(name, optarg, "not a count from 1 to 4294967295");
			const auto value = static_cast<uint32_t>(*count);
			auto &limits = commandLine.limits;
			switch (c) {
			case kObjectsPerConnection:
				limits.objectsPerConnection = value;
				break;
			case kWaitsPerConnection:
				limits.waitsPerConnection = value;
				break;
			case kWaitersPerObject:
				limits.waitersPerObject = value;
				break;
			case kInterestedPeersPerObject:
				limits.interestedPeersPerObject = value;
				break;
			case kInterestsPerConnection:
				limits.interestsPerConnection = value;
				break;
			case kUnreadSignalsPerConnection:
				limits.unreadSignalsPerConnection = value;
				break;
			case kGrantsPerConnection:
				limits.grantsPerConnection = value;
				break;
			case kGrantsTotal:
				limits.grantsTotal = value;
				break;
			case kHandlesPerConnection:
				limits.handlesPerConnection = value;
				break;
			case kFdStoreMax:
				limits.fdStoreMax = value;
				break;
			default:
				limits.handlesTotal = value;
			}
			break;
		}
		case kDescriptorReserve: {
			auto count = parseNumber(optarg, false, true);
			if (!count || *count > UINT32_MAX)
				return bad(name, optarg, "not a count from 0 to 4294967295");
			commandLine.limits.descriptorReserve = static_cast<uint32_t>(*count);
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
		default: {
			const int total = c - kTotalsBase;
			if (total >= 0 && total < static_cast<int>(std::size(kTotals))) {
				const auto &option = kTotals[total];
				auto value = parseNumber(optarg, option.bytes != nullptr, false);
				if (option.bytes && !value)
					return bad(name, optarg,
						   "not a size in bytes (K, M, G suffixes)");
				if (option.bytes == &core::Limits::stateBytes &&
				    *value > core::kMaxStateBytes / 2)
					return bad(name, optarg,
						   "above 128M: a restart must read the state back");
				if (option.bytes) {
					commandLine.limits.*option.bytes = *value;
					break;
				}
				if (!value || *value > UINT32_MAX)
					return bad(name, optarg,
						   "not a count from 1 to 4294967295");
				commandLine.limits.*option.count = static_cast<uint32_t>(*value);
				break;
			}
			std::cerr << "Try 'ipchubd --help'.\n";
			return {std::nullopt, 2};
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
