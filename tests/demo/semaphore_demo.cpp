// ipchub-demo: two client processes share the semaphore "demo"; the child takes both of
// its units and is killed with SIGKILL while holding them; ipchubd gives them back and
// the parent's waiting acquire() is served. Every step is printed with its time.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipchub/ipchub.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char *kKey = "demo";
constexpr uint32_t kUnits = 2;

const Clock::time_point gStart = Clock::now();

double secondsSince(Clock::time_point from, Clock::time_point to = Clock::now())
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
		  << secondsSince(gStart) << " s] " << std::left << std::setw(7) << who
		  << std::right << what << std::endl;
}

std::string describe(const ipchub::Error &error)
{
	return std::string(ipchub::errorCodeName(error.code)) + " (" + error.message + ")";
}

std::string describe(const std::vector<ipchub::SemaphoreHolder> &holders)
{
	if (holders.empty())
		return "nobody";
	std::string text;
	for (const auto &holder : holders) {
		if (!text.empty())
			text += ", ";
		text += holder.uniqueName + " holds " + std::to_string(holder.units);
	}
	return text;
}

struct Failure {
	std::string message;
};

// The child process holding the units. The demo kills and reaps it; if the demo fails
// before that, the destructor does, so no child outlives the demo.
class Child
{
public:
	explicit Child(pid_t pid) : pid_(pid) {}
	Child(const Child &) = delete;
	Child &operator=(const Child &) = delete;
	~Child()
	{
		if (pid_ > 0) {
			::kill(pid_, SIGKILL);
			(void)wait();
		}
	}

	pid_t pid() const { return pid_; }

	// The status reported by waitpid(), once the child has ended.
	int wait()
	{
		int status = 0;
		while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
			;
		pid_ = -1;
		return status;
	}

private:
	pid_t pid_;
};

// Reads one line from fd, waiting at most timeout; nullopt at the timeout or EOF.
std::optional<std::string> readLine(int fd, std::chrono::milliseconds timeout)
{
	std::string line;
	const auto deadline = Clock::now() + timeout;
	for (;;) {
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - Clock::now());
		pollfd pfd{fd, POLLIN, 0};
		const int ready = ::poll(&pfd, 1, std::max<int>(0, left.count()));
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

// The child: its own connection, the semaphore opened by key, both units taken; then
// it tells the parent "held <unique name>" and waits to be killed. It never returns.
[[noreturn]] void runChild(int reportFd, const std::optional<std::string> &address)
{
	// If the parent dies first, the child goes too.
	::prctl(PR_SET_PDEATHSIG, SIGKILL);

	auto client = address ? ipchub::Client::connect(*address) : ipchub::Client::connect();
	if (!client) {
		writeLine(reportFd, "error connecting: " + describe(client.error()));
		::_exit(1);
	}
	auto sem = client->openSemaphore(kKey);
	if (!sem) {
		writeLine(reportFd, "error opening: " + describe(sem.error()));
		::_exit(1);
	}
	if (auto taken = sem->acquire(kUnits, 5s); !taken) {
		writeLine(reportFd, "error acquiring: " + describe(taken.error()));
		::_exit(1);
	}
	writeLine(reportFd, "held " + client->uniqueName());
	for (;;)
		::pause();
}

template <typename T>
T check(ipchub::Result<T> result, const std::string &what)
{
	if (!result)
		throw Failure{what + " failed: " + describe(result.error())};
	if constexpr (!std::is_void_v<T>)
		return std::move(*result);
}

void expect(bool condition, const std::string &what)
{
	if (!condition)
		throw Failure{what};
}

void runDemo(const std::optional<std::string> &address)
{
	auto client = check(address ? ipchub::Client::connect(*address) : ipchub::Client::connect(),
			    "connecting to the bus");
	say("parent", "connected to the bus as " + client.uniqueName() + ", PID " +
			      std::to_string(::getpid()));

	// A persistent "demo" left by an earlier run on this bus would make the create
	// below fail with AlreadyExists: start from a fresh one.
	if (auto old = client.openSemaphore(kKey)) {
		check(client.remove(old->path()), "removing the semaphore left by an earlier run");
		say("parent", "removed the semaphore \"demo\" left by an earlier run");
	}

	ipchub::SemaphoreOptions options;
	options.persistent = true;
	auto sem = check(client.createSemaphore(kKey, kUnits, options),
			 "creating the semaphore \"demo\"");
	say("parent", "created semaphore \"demo\" with " + std::to_string(kUnits) + " units at " +
			      sem.path());
	say("", "(persistent: it stays on the bus after this demo, for busctl and gdbus)");

	int fds[2];
	if (::pipe2(fds, O_CLOEXEC) < 0)
		throw Failure{std::string("pipe2: ") + std::strerror(errno)};
	std::cout.flush();
	const pid_t pid = ::fork();
	if (pid < 0)
		throw Failure{std::string("fork: ") + std::strerror(errno)};
	if (pid == 0) {
		::close(fds[0]);
		runChild(fds[1], address);
	}
	::close(fds[1]);
	Child child(pid);
	say("parent", "forked child PID " + std::to_string(pid) +
			      ": it connects on its own, opens \"demo\" and acquires 2 units");

	auto report = readLine(fds[0], 10s);
	::close(fds[0]);
	expect(report.has_value(), "the child did not report within 10 s");
	expect(report->starts_with("held "), "the child failed: " + *report);
	const std::string childName = report->substr(5);
	say("child", "acquired 2 units as " + childName + "; it now sleeps holding them");

	say("parent",
	    "value() = " + std::to_string(check(sem.value(), "value()")) +
		    " free units; holders: " + describe(check(sem.holders(), "holders()")));

	const bool got = check(sem.tryAcquire(1), "tryAcquire(1)");
	expect(!got, "tryAcquire(1) succeeded although the child holds every unit");
	say("parent", "tryAcquire(1) -> false: no unit is free");

	auto begin = Clock::now();
	auto timedOut = sem.acquire(1, 300ms);
	expect(!timedOut && timedOut.error().code == ipchub::ErrorCode::Timeout,
	       "acquire(1, 0.3 s) should have timed out");
	say("parent", "acquire(1, timeout 0.3 s) waited " + seconds(secondsSince(begin)) +
			      ", then: " + describe(timedOut.error()));

	// Kill the child from a second thread while this one waits in acquire(): the
	// service must give the dead child's units back and serve the waiting call.
	std::atomic<Clock::rep> killedAt{0};
	say("parent", "acquire(1, timeout 10 s) starts waiting; the child gets SIGKILL in 0.5 s");
	begin = Clock::now();
	std::jthread killer([&] {
		std::this_thread::sleep_for(500ms);
		::kill(pid, SIGKILL);
		killedAt = Clock::now().time_since_epoch().count();
	});
	auto served = sem.acquire(1, 10s);
	const auto servedAt = Clock::now();
	killer.join();
	const Clock::time_point killTime{Clock::duration(killedAt.load())};
	say("child", "killed with SIGKILL at " + seconds(secondsSince(gStart, killTime)) +
			     ", still holding 2 units");
	check(std::move(served), "acquire(1, 10 s) after the kill");
	expect(servedAt >= killTime, "acquire(1) was served before the child was killed");
	say("parent", "acquire(1) served after " + seconds(secondsSince(begin, servedAt)) + ", " +
			      seconds(secondsSince(killTime, servedAt)) +
			      " after the kill: ipchubd gave the dead child's units back");

	const int status = child.wait();
	expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	       "the child did not end by SIGKILL");

	const uint32_t value = check(sem.value(), "value()");
	const auto holders = check(sem.holders(), "holders()");
	say("parent",
	    "value() = " + std::to_string(value) + " free unit; holders: " + describe(holders));
	expect(value == kUnits - 1, "value() should be 1 after the child's units came back");
	expect(holders.size() == 1 && holders[0].uniqueName == client.uniqueName() &&
		       holders[0].units == 1,
	       "the parent should be the only holder, with 1 unit");

	check(sem.release(1), "release(1)");
	say("parent", "release(1): value() = " + std::to_string(check(sem.value(), "value()")) +
			      "; the semaphore is whole again");
}

void usage()
{
	std::cout << "Usage: ipchub-demo [--address ADDRESS]\n"
		     "Two processes share the ipchubd semaphore \"demo\"; the one holding its\n"
		     "units is killed with SIGKILL and the units come back. Needs ipchubd on\n"
		     "the session bus ($DBUS_SESSION_BUS_ADDRESS) or on the bus at ADDRESS.\n";
}

} // namespace

int main(int argc, char **argv)
{
	std::optional<std::string> address;
	for (int i = 1; i < argc; ++i) {
		const std::string arg = argv[i];
		if (arg == "-h" || arg == "--help") {
			usage();
			return 0;
		} else if (arg == "--address" && i + 1 < argc) {
			address = argv[++i];
		} else if (arg.starts_with("--address=")) {
			address = arg.substr(10);
		} else {
			std::cerr << "ipchub-demo: unknown argument '" << arg
				  << "'; try 'ipchub-demo --help'\n";
			return 2;
		}
	}

	try {
		runDemo(address);
	} catch (const Failure &failure) {
		std::cerr << "ipchub-demo: FAILED: " << failure.message << "\n";
		return 1;
	}
	say("", "demo succeeded");
	return 0;
}
