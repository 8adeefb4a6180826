// SPDX-License-Identifier: LGPL-2.1-or-later
#include "demo_support.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <iomanip>
#include <iostream>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace demo {

const Clock::time_point gStart = Clock::now();

double secondsSince(Clock::time_point from, Clock::time_point to)
{
	return std::chrono::duration<double>(to - from).count();
}

std::string seconds(double s)
{
	std::ostringstream out;
	out << std::fixed << std::setprecision(3) << s << " s";
	return out.str();
}

void say(const std::string &who, const std::string &what)
{
	std::cout << "[" << std::fixed << std::setprecision(3) << std::setw(7)
		  << secondsSince(gStart) << " s] " << std::left << std::setw(9) << who
		  << std::right << what << std::endl;
}

std::string describe(const ipchub::Error &error)
{
	return std::string(ipchub::errorCodeName(error.code)) + " (" + error.message + ")";
}

void expect(bool condition, const std::string &what)
{
	if (!condition)
		throw Failure{what};
}

Child::~Child()
{
	if (pid_ > 0) {
		::kill(pid_, SIGKILL);
		(void)wait();
	}
}

int Child::wait()
{
	int status = 0;
	while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
		;
	pid_ = -1;
	return status;
}

Forked forkReporting(const std::function<void(int reportFd)> &body)
{
	int fds[2];
	if (::pipe2(fds, O_CLOEXEC) < 0)
		throw Failure{std::string("pipe2: ") + std::strerror(errno)};
	std::cout.flush();
	const pid_t pid = ::fork();
	if (pid < 0)
		throw Failure{std::string("fork: ") + std::strerror(errno)};
	if (pid == 0) {
		// If the parent dies first, the child goes too.
		::prctl(PR_SET_PDEATHSIG, SIGKILL);
		::close(fds[0]);
		body(fds[1]);
		::_exit(0);
	}
	::close(fds[1]);
	return {Child(pid), fds[0]};
}

std::optional<std::string> readLine(int fd, std::chrono::milliseconds timeout)
{
	std::string line;
	const auto deadline = Clock::now() + timeout;
	for (;;) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - Clock::now());
		pollfd pfd{fd, POLLIN, 0};
		const int ready = ::poll(&pfd, 1, std::max<int>(0, static_cast<int>(left.count())));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return std::nullopt;
		char c;
		const ssize_t n = ::read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return std::nullopt;
		if (c == '\n')
			return line;
		line += c;
	}
}

void writeLine(int fd, const std::string &line)
{
	const std::string text = line + "\n";
	(void)!::write(fd, text.data(), text.size());
}

ipchub::Result<ipchub::Client> connect(const std::optional<std::string> &address)
{
	return address ? ipchub::Client::connect(*address) : ipchub::Client::connect();
}

int runMain(int argc, char **argv, const char *name, const char *description,
	    const std::function<void(const std::optional<std::string> &)> &demo)
{
	std::optional<std::string> address;
	for (int i = 1; i < argc; ++i) {
		const std::string arg = argv[i];
		if (arg == "-h" || arg == "--help") {
			std::cout << "Usage: " << name << " [--address ADDRESS]\n"
				  << description
				  << "Needs ipchubd on the session bus ($DBUS_SESSION_BUS_ADDRESS) or on\n"
				     "the bus at ADDRESS.\n";
			return 0;
		} else if (arg == "--address" && i + 1 < argc) {
			address = argv[++i];
		} else if (arg.starts_with("--address=")) {
			address = arg.substr(10);
		} else {
			std::cerr << name << ": unknown argument '" << arg << "'; try '" << name
				  << " --help'\n";
			return 2;
		}
	}

	try {
		demo(address);
	} catch (const Failure &failure) {
		std::cerr << name << ": FAILED: " << failure.message << "\n";
		return 1;
	}
	say("", "demo succeeded");
	return 0;
}

} // namespace demo
