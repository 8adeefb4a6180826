// Shared memory against a bare bus round trip, on a private dbus-daemon of its own
// with the real ipchubd ($IPCHUBD) and a trivial service that only returns an fd.
//
//   BareFdCall      one call to the trivial service returning a memfd: the floor
//   AttachMap       Attach(false) on an open segment + mmap + munmap: one round trip
//   OpenAttachMap   Client::openSharedMemory + destruction: Open, Attach, mmap,
//                   munmap, Close, three round trips
//   WriteMapping    memcpy into a segment's mapping
//   WritePrivate    memcpy into private memory, the same size

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <benchmark/benchmark.h>
#include <sdbus-c++/sdbus-c++.h>

#include <ipchub/ipchub.hpp>

namespace {

using namespace std::chrono_literals;

constexpr const char *kBareName = "io.github.ipchub1.Bench";
constexpr const char *kBareInterface = "io.github.ipchub1.Bench";
constexpr const char *kSegmentPath = "/io/github/ipchub1/shm/bench";

pid_t spawn(const std::vector<std::string> &argv, int stdoutFd = -1)
{
	const pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (stdoutFd >= 0)
			dup2(stdoutFd, 1);
		std::vector<char *> args;
		for (const auto &arg : argv)
			args.push_back(const_cast<char *>(arg.c_str()));
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	return pid;
}

// dbus-daemon --session --print-address: the first line it prints.
std::string startBus(pid_t &pid)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		throw std::runtime_error("pipe2 failed");
	pid = spawn({"dbus-daemon", "--session", "--nofork", "--print-address"}, fds[1]);
	close(fds[1]);
	std::string line;
	char c;
	while (read(fds[0], &c, 1) == 1 && c != '\n')
		line.push_back(c);
	close(fds[0]);
	if (line.empty())
		throw std::runtime_error("dbus-daemon did not print its address");
	return line;
}

// The trivial service: one method that returns a dup of a memfd, nothing else.
[[noreturn]] void serveBareFd(const std::string &address)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(address);
	const int memfd = memfd_create("bench", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4096) < 0)
		_exit(1);
	auto object = sdbus::createObject(*connection, "/bench");
	object->registerMethod("GetFd").onInterface(kBareInterface).implementedAs([memfd] {
		return sdbus::UnixFd(memfd);
	});
	object->finishRegistration();
	connection->requestName(kBareName);
	connection->enterEventLoop();
	_exit(0);
}

void waitForName(sdbus::IConnection &connection, const std::string &name)
{
	auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
	for (int i = 0; i < 1000; ++i) {
		bool owned = false;
		bus->callMethod("NameHasOwner")
			.onInterface("org.freedesktop.DBus")
			.withArguments(name)
			.storeResultsTo(owned);
		if (owned)
			return;
		std::this_thread::sleep_for(10ms);
	}
	throw std::runtime_error(name + " did not appear on the bus");
}

struct World {
	std::string address;
	std::unique_ptr<ipchub::Client> client;
	std::unique_ptr<ipchub::SharedMemory> segment;
	// Opens and closes the segment: a connection of its own, because Close drops the
	// connection's one reference, and the creator's must stay.
	std::unique_ptr<ipchub::Client> reader;
	std::unique_ptr<sdbus::IConnection> raw;
	std::unique_ptr<sdbus::IProxy> bare;
	std::unique_ptr<sdbus::IProxy> segmentProxy;
};

World *world = nullptr;

void BareFdCall(benchmark::State &state)
{
	for (auto _ : state) {
		sdbus::UnixFd fd;
		world->bare->callMethod("GetFd").onInterface(kBareInterface).storeResultsTo(fd);
		benchmark::DoNotOptimize(fd.get());
	}
}

void AttachMap(benchmark::State &state)
{
	for (auto _ : state) {
		sdbus::UnixFd fd;
		uint64_t size = 0;
		world->segmentProxy->callMethod("Attach")
			.onInterface("io.github.ipchub1.SharedMemory")
			.withArguments(false)
			.storeResultsTo(fd, size);
		void *data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
		if (data == MAP_FAILED) {
			state.SkipWithError("mmap failed");
			return;
		}
		benchmark::DoNotOptimize(*static_cast<volatile const char *>(data));
		munmap(data, size);
	}
}

void OpenAttachMap(benchmark::State &state)
{
	for (auto _ : state) {
		auto view = world->reader->openSharedMemory("bench", ipchub::Access::ReadOnly);
		if (!view) {
			state.SkipWithError(view.error().message.c_str());
			return;
		}
		benchmark::DoNotOptimize(view->constData()[0]);
	}
}

void WriteMapping(benchmark::State &state)
{
	const auto bytes = static_cast<size_t>(state.range(0));
	std::vector<std::byte> source(bytes, std::byte{0x5a});
	auto target = world->segment->data().first(bytes);
	for (auto _ : state) {
		std::memcpy(target.data(), source.data(), bytes);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void WritePrivate(benchmark::State &state)
{
	const auto bytes = static_cast<size_t>(state.range(0));
	std::vector<std::byte> source(bytes, std::byte{0x5a});
	// Touched first, as the segment is, so neither side pays for page faults.
	std::vector<std::byte> target(bytes, std::byte{0});
	for (auto _ : state) {
		std::memcpy(target.data(), source.data(), bytes);
		benchmark::ClobberMemory();
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

constexpr int64_t kSegmentSize = 64 << 20;

BENCHMARK(BareFdCall);
BENCHMARK(AttachMap);
BENCHMARK(OpenAttachMap);
BENCHMARK(WriteMapping)->Arg(64 << 10)->Arg(1 << 20)->Arg(kSegmentSize);
BENCHMARK(WritePrivate)->Arg(64 << 10)->Arg(1 << 20)->Arg(kSegmentSize);

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	const char *ipchubd = std::getenv("IPCHUBD");
	pid_t busPid = -1;
	World state;
	state.address = startBus(busPid);
	setenv("DBUS_SESSION_BUS_ADDRESS", state.address.c_str(), 1);
	// Forked before this process makes any thread.
	const pid_t barePid = fork();
	if (barePid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		serveBareFd(state.address);
	}
	const pid_t daemonPid = spawn({ipchubd ? ipchubd : "ipchubd"});

	int status = 0;
	try {
		state.raw = sdbus::createSessionBusConnectionWithAddress(state.address);
		waitForName(*state.raw, kBareName);
		waitForName(*state.raw, "io.github.ipchub1");
		for (auto *client : {&state.client, &state.reader}) {
			auto connected = ipchub::Client::connect(state.address);
			if (!connected)
				throw std::runtime_error(connected.error().message);
			*client = std::make_unique<ipchub::Client>(std::move(*connected));
		}
		auto segment = state.client->createSharedMemory("bench", kSegmentSize);
		if (!segment)
			throw std::runtime_error(segment.error().message);
		state.segment = std::make_unique<ipchub::SharedMemory>(std::move(*segment));
		std::memset(state.segment->data().data(), 0, state.segment->size());
		state.bare = sdbus::createProxy(*state.raw, kBareName, "/bench");
		state.segmentProxy = sdbus::createProxy(*state.raw, "io.github.ipchub1", kSegmentPath);
		world = &state;
		benchmark::RunSpecifiedBenchmarks();
		benchmark::Shutdown();
	} catch (const std::exception &e) {
		std::fprintf(stderr, "shm_bench: %s\n", e.what());
		status = 1;
	}
	world = nullptr;
	state = World{};
	for (pid_t pid : {daemonPid, barePid, busPid}) {
		kill(pid, SIGTERM);
		waitpid(pid, nullptr, 0);
	}
	return status;
}
