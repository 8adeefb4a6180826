// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the ipchub demos share: timed narration, child processes, line pipes, and
// turning a failed step into one message.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <type_traits>

#include <ipchub/ipchub.hpp>

namespace demo {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

extern const Clock::time_point gStart;

double secondsSince(Clock::time_point from, Clock::time_point to = Clock::now());
std::string seconds(double s);
// Prints "[  t s] who    what".
void say(const std::string &who, const std::string &what);
std::string describe(const ipchub::Error &error);

// A step that went wrong: the demo stops and prints it.
struct Failure {
	std::string message;
};

template <typename T>
T check(ipchub::Result<T> result, const std::string &what)
{
	if (!result)
		throw Failure{what + " failed: " + describe(result.error())};
	if constexpr (!std::is_void_v<T>)
		return std::move(*result);
}

void expect(bool condition, const std::string &what);

// A forked child, killed (SIGKILL) and reaped when the handle goes unless waited, so
// no child outlives the demo.
class Child
{
public:
	explicit Child(pid_t pid) : pid_(pid) {}
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;
	~Child();

	pid_t pid() const { return pid_; }
	// The status reported by waitpid(), once the child has ended.
	int wait();

private:
	pid_t pid_;
};

// Forks a child that runs body with the write end of a pipe (and dies with the
// parent); the parent gets the child and the read end.
struct Forked {
	Child child;
	int reportFd;
};
Forked forkReporting(const std::function<void(int reportFd)> &body);

// Reads one line from fd, waiting at most timeout; nullopt at the timeout or EOF.
std::optional<std::string> readLine(int fd, std::chrono::milliseconds timeout);
void writeLine(int fd, const std::string &line);

ipchub::Result<ipchub::Client> connect(const std::optional<std::string> &address);

// Parses [--address ADDRESS] and --help, runs demo and reports how it went: the
// status main returns.
int runMain(int argc, char **argv, const char *name, const char *description,
	    const std::function<void(const std::optional<std::string> &)> &demo);

} // namespace demo
