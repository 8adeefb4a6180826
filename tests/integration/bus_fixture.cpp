// SPDX-License-Identifier: LGPL-2.1-or-later
#include "bus_fixture.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ipchub::test {

namespace {

constexpr const char *kBusName = "io.github.ipchub1";
constexpr const char *kManagerPath = "/io/github/ipchub1";
constexpr const char *kManagerInterface = "io.github.ipchub1.Manager";
constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";

// What the tests of one binary share: its bus, and the ipchubd one test hands on to
// the next. Both end with the process (and with PR_SET_PDEATHSIG if it dies).
struct SharedWorld {
	std::unique_ptr<PrivateBus> bus;
	Child daemon;
};

SharedWorld &sharedWorld()
{
	static SharedWorld world;
	return world;
}

std::string readAll(int fd)
{
	std::string text;
	char buffer[4096];
	for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;)
		text.append(buffer, static_cast<size_t>(n));
	return text;
}

[[noreturn]] void execArgv(const std::vector<std::string> &argv)
{
	std::vector<char *> args;
	for (const auto &arg : argv)
		args.push_back(const_cast<char *>(arg.c_str()));
	args.push_back(nullptr);
	execvp(args[0], args.data());
	_exit(127);
}

Client connectTo(const std::string &address)
{
	auto client = Client::connect(address);
	if (!client)
		throw std::runtime_error(client.error().message);
	return std::move(*client);
}

} // namespace

PrivateBus::PrivateBus()
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		throw std::runtime_error("pipe2 failed");
	pid_ = fork();
	if (pid_ == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 3);
		execArgv({"dbus-daemon", "--config-file=/usr/share/dbus-1/session.conf", "--nofork",
			  "--print-address=3"});
	}
	close(fds[1]);
	// The address line ends with a newline; read until it does.
	std::string line;
	char c;
	while (read(fds[0], &c, 1) == 1 && c != '\n')
		line.push_back(c);
	close(fds[0]);
	if (line.empty())
		throw std::runtime_error("dbus-daemon did not print its address");
	address_ = line;
	setenv("DBUS_SESSION_BUS_ADDRESS", address_.c_str(), 1);
}

PrivateBus::~PrivateBus()
{
	if (pid_ > 0) {
		::kill(pid_, SIGTERM);
		waitpid(pid_, nullptr, 0);
	}
}

Child &Child::operator=(Child &&other) noexcept
{
	if (this != &other) {
		kill();
		pid_ = std::exchange(other.pid_, -1);
	}
	return *this;
}

Child::~Child()
{
	kill();
}

void Child::kill(int signal)
{
	if (pid_ <= 0)
		return;
	::kill(pid_, signal);
	if (signal == SIGKILL) {
		waitpid(pid_, nullptr, 0);
		pid_ = -1;
	}
}

int Child::wait(std::chrono::milliseconds timeout)
{
	if (pid_ <= 0)
		return -1;
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		int status = 0;
		pid_t r = waitpid(pid_, &status, WNOHANG);
		if (r == pid_) {
			pid_ = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (std::chrono::steady_clock::now() > deadline)
			return -1;
		std::this_thread::sleep_for(2ms);
	}
}

Child forkChild(const std::function<int()> &body)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int status = 1;
		try {
			status = body();
		} catch (...) {
			status = 99;
		}
		_exit(status);
	}
	return Child(pid);
}

Child spawn(const std::vector<std::string> &argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execArgv(argv);
	}
	return Child(pid);
}

CommandResult run(const std::vector<std::string> &argv, std::chrono::milliseconds timeout)
{
	int out[2], err[2];
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		throw std::runtime_error("pipe2 failed");
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		dup2(err[1], 2);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		execArgv(argv);
	}
	close(out[1]);
	close(err[1]);
	Child child(pid);
	// Both pipes are read on a thread of their own so that neither fills up.
	CommandResult result;
	std::thread errReader([&] { result.err = readAll(err[0]); });
	result.out = readAll(out[0]);
	errReader.join();
	close(out[0]);
	close(err[0]);
	result.status = child.wait(timeout);
	return result;
}

bool waitFor(const std::function<bool()> &condition, std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	while (!condition()) {
		if (std::chrono::steady_clock::now() > deadline)
			return false;
		std::this_thread::sleep_for(5ms);
	}
	return true;
}

std::string ipchubdPath()
{
	const char *path = std::getenv("IPCHUBD");
	return path ? path : "ipchubd";
}

void IpchubTest::SetUp()
{
	auto &world = sharedWorld();
	if (!world.bus)
		world.bus = std::make_unique<PrivateBus>();
	bus_ = world.bus.get();
	ownDaemon_ = false;
	if (world.daemon.running() && settled()) {
		daemon_ = std::move(world.daemon);
		return;
	}
	world.daemon.kill();
	// The name of an ipchubd that the test before killed may not be free yet.
	ASSERT_TRUE(waitFor([&] { return !nameOwned(); }))
		<< "io.github.ipchub1 is still owned after the previous ipchubd ended";
	launchDaemon({}, {});
}

void IpchubTest::TearDown()
{
	bus_ = nullptr;
	if (!ownDaemon_ && !HasFailure() && daemon_.running()) {
		sharedWorld().daemon = std::move(daemon_);
		return;
	}
	daemon_.kill();
	// The bus goes too, as when each test had its own: what the test keeps past
	// TearDown (objects whose destructors call ipchubd) meets a closed bus, rather
	// than waiting for an ipchubd the test ended.
	sharedWorld().bus.reset();
}

bool IpchubTest::settled()
{
	using Objects = std::map<sdbus::ObjectPath,
				 std::map<std::string, std::map<std::string, sdbus::Variant>>>;
	try {
		auto connection = sdbus::createSessionBusConnectionWithAddress(address());
		auto manager = sdbus::createProxy(*connection, kBusName, kManagerPath);
		auto objects = [&] {
			Objects list;
			manager->callMethod("GetManagedObjects")
				.onInterface("org.freedesktop.DBus.ObjectManager")
				.storeResultsTo(list);
			return list;
		};
		for (const auto &object : objects()) {
			try {
				manager->callMethod("Remove")
					.onInterface(kManagerInterface)
					.withArguments(object.first);
			} catch (const sdbus::Error &) {
				// Gone meanwhile, with the connection that referenced it.
			}
		}
		// The others go as the departures of the previous test's connections reach
		// ipchubd.
		size_t left = 0;
		if (waitFor([&] { return (left = objects().size()) == 0; }))
			return true;
		std::fprintf(
			stderr,
			"# ipchubd still holds %zu objects 10 s after the test before; a new one\n",
			left);
	} catch (const sdbus::Error &e) {
		std::fprintf(stderr,
			     "# ipchubd of the test before does not answer (%s); a new one\n",
			     e.getMessage().c_str());
	}
	return false;
}

void IpchubTest::startDaemon(const std::vector<std::string> &args,
			     const std::vector<std::string> &wrapper)
{
	ownDaemon_ = true;
	launchDaemon(args, wrapper);
}

void IpchubTest::launchDaemon(const std::vector<std::string> &args,
			      const std::vector<std::string> &wrapper)
{
	std::vector<std::string> argv = wrapper;
	argv.push_back(ipchubdPath());
	argv.insert(argv.end(), args.begin(), args.end());
	daemon_ = spawn(argv);
	// Ends early when ipchubd exits (not built, not found, failed).
	int exited = -1;
	ASSERT_TRUE(waitFor([&] {
			    if (nameOwned())
				    return true;
			    exited = daemon_.wait(0ms);
			    return exited != -1;
		    }) &&
		    exited == -1)
		<< "ipchubd (" << argv[0] << ") did not own its name; exit status " << exited;
}

int IpchubTest::stopDaemon(int signal)
{
	ownDaemon_ = true;
	daemon_.kill(signal);
	return daemon_.wait();
}

Client IpchubTest::connect()
{
	return connectTo(address());
}

bool IpchubTest::nameOwned()
{
	auto result = run({"dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
			   "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner",
			   "string:io.github.ipchub1"});
	return result.status == 0 && result.out.find("boolean true") != std::string::npos;
}

RawConnection::RawConnection(const std::string &address)
	: connection_(sdbus::createSessionBusConnectionWithAddress(address))
{
}

std::shared_ptr<RawConnection::Reply> RawConnection::acquireAsync(const std::string &path,
								  uint32_t n, uint64_t timeoutUsec)
{
	auto reply = std::make_shared<Reply>();
	auto &proxy = proxies_.emplace_back(sdbus::createProxy(*connection_, kBusName, path));
	auto call = proxy->createMethodCall(kSemaphoreInterface, "Acquire");
	call << n << timeoutUsec;
	reply->sentAt = std::chrono::steady_clock::now();
	// No bus timeout of its own: the service's answer is what the tests look at.
	proxy->callMethod(
		call,
		[reply](sdbus::MethodReply &, const sdbus::Error *error) {
			reply->done = true;
			reply->repliedAt = std::chrono::steady_clock::now();
			if (error) {
				reply->error = error->getName();
				reply->message = error->getMessage();
			}
		},
		UINT64_MAX);
	return reply;
}

std::string RawConnection::createSemaphore(const std::string &key, uint32_t initial,
					   const std::map<std::string, sdbus::Variant> &options)
{
	auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
	sdbus::ObjectPath path;
	proxy->callMethod("CreateSemaphore")
		.onInterface(kManagerInterface)
		.withArguments(key, initial, options)
		.storeResultsTo(path);
	return path;
}

void RawConnection::callSemaphore(const std::string &path, const std::string &method)
{
	auto proxy = sdbus::createProxy(*connection_, kBusName, path);
	proxy->callMethod(method).onInterface(kSemaphoreInterface);
}

sdbus::Variant RawConnection::property(const std::string &path, const std::string &interface,
				       const std::string &name)
{
	auto proxy = sdbus::createProxy(*connection_, kBusName, path);
	return proxy->getProperty(name).onInterface(interface);
}

uint32_t RawConnection::waiters(const std::string &path)
{
	return property(path, kSemaphoreInterface, "Waiters").get<uint32_t>();
}

uint32_t RawConnection::value(const std::string &path)
{
	return property(path, kSemaphoreInterface, "Value").get<uint32_t>();
}

void RawConnection::introduce()
{
	auto proxy = sdbus::createProxy(*connection_, kBusName, kManagerPath);
	try {
		proxy->callMethod("GetManagedObjects").onInterface("org.freedesktop.DBus.ObjectManager");
	} catch (const sdbus::Error &) {
		// A sandboxed caller is refused the list, and watches all the same.
	}
}

void RawConnection::addMatch(const std::string &rule,
			     std::function<void(sdbus::Message &)> handler)
{
	matches_.push_back(connection_->addMatch(rule, std::move(handler)));
}

void RawConnection::pump()
{
	while (connection_->processPendingRequest()) {
	}
}

bool RawConnection::waitFor(const std::function<bool()> &condition,
			    std::chrono::milliseconds timeout)
{
	return test::waitFor(
		[&] {
			pump();
			return condition();
		},
		timeout);
}

std::string errorName(const std::string &name)
{
	return "io.github.ipchub1.Error." + name;
}

CommandResult gdbusCall(const std::string &path, const std::string &method,
			const std::vector<std::string> &args)
{
	std::vector<std::string> argv{"gdbus",	       "call", "--session", "--dest", kBusName,
				      "--object-path", path,   "--method",  method};
	argv.insert(argv.end(), args.begin(), args.end());
	return run(argv);
}

} // namespace ipchub::test
