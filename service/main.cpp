// ipchubd: named semaphores, shared memory and locks for the desktop session.

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <getopt.h>
#include <iostream>
#include <string>

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include "bus/daemon.hpp"
#include "bus/event_loop.hpp"
#include "bus/object_path.hpp"

namespace {

void usage()
{
	std::cout << "Usage: ipchubd [OPTION]...\n"
		     "Serve io.github.ipchub1 on the session bus.\n\n"
		     "      --max-segment-size=BYTES          the largest shared-memory segment\n"
		     "                                        (default 1 GiB)\n"
		     "      --max-bytes-per-connection=BYTES  the shared memory one connection may\n"
		     "                                        create in all (default 4 GiB)\n"
		     "  -h, --help       show this help and exit\n"
		     "      --version    show the version and exit\n";
}

// A byte count of the command line: digits only, 1 or more.
bool parseBytes(const char *text, uint64_t &bytes)
{
	if (!text || *text < '0' || *text > '9')
		return false;
	char *end = nullptr;
	errno = 0;
	const unsigned long long value = std::strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || value == 0)
		return false;
	bytes = value;
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	static const option kOptions[] = {
		{"help", no_argument, nullptr, 'h'},
		{"version", no_argument, nullptr, 'V'},
		{"max-segment-size", required_argument, nullptr, 'S'},
		{"max-bytes-per-connection", required_argument, nullptr, 'B'},
		{nullptr, 0, nullptr, 0},
	};
	ipchub::core::Limits limits;
	for (int c; (c = getopt_long(argc, argv, "h", kOptions, nullptr)) != -1;) {
		switch (c) {
		case 'h':
			usage();
			return 0;
		case 'V':
			std::cout << "ipchubd " IPCHUB_VERSION "\n";
			return 0;
		case 'S':
		case 'B': {
			uint64_t &limit = c == 'S' ? limits.segmentSize : limits.bytesPerConnection;
			if (!parseBytes(optarg, limit)) {
				std::cerr << "ipchubd: --"
					  << (c == 'S' ? "max-segment-size" : "max-bytes-per-connection")
					  << " takes a number of bytes, 1 or more; got \"" << optarg
					  << "\"\n";
				return 2;
			}
			break;
		}
		default:
			std::cerr << "Try 'ipchubd --help'.\n";
			return 2;
		}
	}

	try {
		ipchub::bus::EventLoop loop;
		loop.exitOnSignal(SIGTERM, 0);
		loop.exitOnSignal(SIGINT, 0);

		auto connection = sdbus::createSessionBusConnection();
		ipchub::bus::Daemon daemon(*connection, loop, limits);
		loop.attach(*connection);
		try {
			connection->requestName(ipchub::bus::kBusName);
		} catch (const sdbus::Error &e) {
			std::cerr << "ipchubd: cannot own " << ipchub::bus::kBusName
				  << " (is another ipchubd running?): " << e.getMessage() << "\n";
			return 1;
		}
		sd_notify(0, "READY=1\nSTATUS=Serving io.github.ipchub1");
		std::cerr << "ipchubd: serving " << ipchub::bus::kBusName << " as "
			  << connection->getUniqueName() << "\n";
		const int status = loop.run();
		sd_notify(0, "STOPPING=1");
		return status < 0 ? 1 : status;
	} catch (const std::exception &e) {
		std::cerr << "ipchubd: " << e.what() << "\n";
		return 1;
	}
}
