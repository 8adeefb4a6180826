// ipchubd: named semaphores, shared memory and locks for the desktop session.

#include <csignal>
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
		     "  -h, --help       show this help and exit\n"
		     "      --version    show the version and exit\n";
}

} // namespace

int main(int argc, char **argv)
{
	static const option kOptions[] = {
		{"help", no_argument, nullptr, 'h'},
		{"version", no_argument, nullptr, 'V'},
		{nullptr, 0, nullptr, 0},
	};
	for (int c; (c = getopt_long(argc, argv, "h", kOptions, nullptr)) != -1;) {
		switch (c) {
		case 'h':
			usage();
			return 0;
		case 'V':
			std::cout << "ipchubd " IPCHUB_VERSION "\n";
			return 0;
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
		ipchub::bus::Daemon daemon(*connection, loop, ipchub::core::Limits{});
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
