// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubd: named semaphores, shared memory and locks for the desktop session.

#include <csignal>
#include <iostream>
#include <optional>
#include <sys/resource.h>

#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include "bus/daemon.hpp"
#include "bus/event_loop.hpp"
#include "bus/idle_exit.hpp"
#include "bus/input_guard.hpp"
#include "bus/sd_bus_access.hpp"
#include "command_line.hpp"
#include "common/object_path.hpp"

namespace {

// Every shared-memory object is a descriptor or two, and a user manager starts services with a
// soft limit of 1024 out of a far higher hard one, kept low only for select(), which
// neither sd-event nor sd-bus uses.
void raiseDescriptorLimit()
{
	rlimit limit{};
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == limit.rlim_max)
		return;
	limit.rlim_cur = limit.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
		std::cerr << "ipchubd: cannot raise the descriptor limit to " << limit.rlim_max
			  << "\n";
}

} // namespace

int main(int argc, char **argv)
{
	const auto parsed = ipchub::parseCommandLine(argc, argv);
	if (!parsed.commandLine)
		return parsed.exitStatus;
	const auto &options = *parsed.commandLine;

	raiseDescriptorLimit();
	try {
		ipchub::bus::EventLoop loop;
		loop.exitOnSignal(SIGTERM, 0);
		loop.exitOnSignal(SIGINT, 0);

		auto connection = sdbus::createSessionBusConnection();
		ipchub::bus::Daemon daemon(*connection, loop, options.limits, options.verbose);
		daemon.restore();
		// After restore's calls: sd-bus is between two messages.
		ipchub::bus::InputGuard inputGuard(ipchub::bus::sdBusOf(*connection));
		loop.attach(*connection);
		try {
			connection->requestName(ipchub::common::kBusName);
		} catch (const sdbus::Error &e) {
			std::cerr << "ipchubd: cannot own " << ipchub::common::kBusName
				  << " (is another ipchubd running?): " << e.getMessage() << "\n";
			return 1;
		}
		std::optional<ipchub::bus::IdleExit> idleExit;
		if (options.idleExitSeconds > 0)
			idleExit.emplace(loop, *connection, options.idleExitSeconds,
					 [&daemon] { return daemon.idle(); });

		sd_notify(0, "READY=1\nSTATUS=Serving io.github.ipchub1");
		std::cerr << "ipchubd " IPCHUB_VERSION ": serving " << ipchub::common::kBusName
			  << " as " << connection->getUniqueName() << "\n";
		const int status = loop.run();
		sd_notify(0, "STOPPING=1");
		return status < 0 ? 1 : status;
	} catch (const std::exception &e) {
		std::cerr << "ipchubd: " << e.what() << "\n";
		return 1;
	}
}
