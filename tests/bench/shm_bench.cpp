// Shared memory against the bare bus floor (see bench_env.hpp):
//
//   BareFdCall      one call to the bare service returning a memfd
//   BarePingFdCall  a bare call, then a bare call returning a memfd: two round trips
//   AttachMap       Attach(false) on an open segment + mmap + munmap: one round trip
//   AttachMapRead   the same, reading the first byte through the mapping before munmap
//   MapRead         mmap + first read + munmap of a descriptor already held: what the
//                   kernel charges for a mapping, whoever handed out the descriptor
//   OpenAttachMap   Client::openSharedMemory + destruction: Open, Attach, mmap,
//                   munmap, Close: three round trips
//   WriteMapping    memcpy into a segment's mapping
//   WritePrivate    memcpy into private memory, the same size

#include <cstring>
#include <memory>
#include <stdexcept>
#include <sys/mman.h>
#include <vector>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

constexpr const char *kSegmentPath = "/io/github/ipchub1/shm/bench";

struct World {
	const BenchEnv *env = nullptr;
	std::unique_ptr<Client> client;
	std::unique_ptr<SharedMemory> segment;
	// Opens and closes the segment: a connection of its own, because Close drops the
	// connection's one reference, and the creator's must stay.
	std::unique_ptr<Client> reader;
	std::unique_ptr<sdbus::IConnection> raw;
	std::unique_ptr<sdbus::IProxy> bare;
	std::unique_ptr<sdbus::IProxy> segmentProxy;
};

World *world = nullptr;

void bareFdCall()
{
	sdbus::UnixFd fd;
	world->bare->callMethod("Fd").onInterface(kBareInterface).storeResultsTo(fd);
	benchmark::DoNotOptimize(fd.get());
}

// Attach(false) on the segment: a read-only descriptor, and the size in size.
sdbus::UnixFd attach(uint64_t &size)
{
	sdbus::UnixFd fd;
	world->segmentProxy->callMethod("Attach")
		.onInterface("io.github.ipchub1.SharedMemory")
		.withArguments(false)
		.storeResultsTo(fd, size);
	return fd;
}

// mmap of size bytes of fd, then munmap; read, the first byte is read in between (a
// page fault, and the kernel maps the pages around it). False if mmap failed.
bool mapOnce(int fd, size_t size, bool read)
{
	void *data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED)
		return false;
	if (read)
		benchmark::DoNotOptimize(*static_cast<volatile const char *>(data));
	munmap(data, size);
	return true;
}

void BareFdCall(benchmark::State &state)
{
	for (auto _ : state)
		bareFdCall();
}

void BareThreeCalls(benchmark::State &state)
{
	for (auto _ : state) {
		sdbus::UnixFd fd;
		world->bare->callMethod("Ping").onInterface(kBareInterface);
		world->bare->callMethod("Fd").onInterface(kBareInterface).storeResultsTo(fd);
		world->bare->callMethod("Ping").onInterface(kBareInterface);
		benchmark::DoNotOptimize(fd.get());
	}
}

// Attach(false), then mapOnce.
void attachMap(bool read)
{
	uint64_t size = 0;
	const sdbus::UnixFd fd = attach(size);
	if (!mapOnce(fd.get(), size, read))
		throw std::runtime_error("mmap failed");
}

void AttachMap(benchmark::State &state)
{
	for (auto _ : state)
		attachMap(false);
}

void MapRead(benchmark::State &state)
{
	const int fd = world->segment->fd();
	const size_t size = world->segment->size();
	for (auto _ : state) {
		if (!mapOnce(fd, size, true)) {
			state.SkipWithError("mmap failed");
			return;
		}
	}
}

// Attach+mmap and the bare fd call in alternating blocks of one run.
void AttachMapVsBareFd(benchmark::State &state)
{
	compareInterleaved(state, *world->env, bareFdCall, [] { attachMap(false); });
}

void AttachMapReadVsBareFd(benchmark::State &state)
{
	compareInterleaved(state, *world->env, bareFdCall, [] { attachMap(true); });
}

void OpenAttachMap(benchmark::State &state)
{
	for (auto _ : state) {
		auto view = world->reader->openSharedMemory("bench", Access::ReadOnly);
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

BENCHMARK(BareFdCall)->UseRealTime();
BENCHMARK(BareThreeCalls)->UseRealTime();
BENCHMARK(AttachMap)->UseRealTime();
BENCHMARK(MapRead)->UseRealTime();
BENCHMARK(OpenAttachMap)->UseRealTime();
// Attach alone (no mmap) and the bare fd call: what of AttachMapVsBareFd is the call.
void AttachVsBareFd(benchmark::State &state)
{
	compareInterleaved(state, *world->env, bareFdCall, [] {
		uint64_t size = 0;
		benchmark::DoNotOptimize(attach(size).get());
	});
}

BENCHMARK(AttachMapVsBareFd)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(AttachMapReadVsBareFd)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(AttachVsBareFd)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(WriteMapping)->Arg(64 << 10)->Arg(1 << 20)->Arg(kSegmentSize);
BENCHMARK(WritePrivate)->Arg(64 << 10)->Arg(1 << 20)->Arg(kSegmentSize);

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	using namespace ipchub::bench;
	BenchEnv env;
	World state;
	state.env = &env;
	for (auto *client : {&state.client, &state.reader}) {
		auto connected = ipchub::Client::connect(env.address());
		if (!connected)
			throw std::runtime_error(connected.error().message);
		*client = std::make_unique<ipchub::Client>(std::move(*connected));
	}
	auto segment = state.client->createSharedMemory("bench", kSegmentSize);
	if (!segment)
		throw std::runtime_error(segment.error().message);
	state.segment = std::make_unique<ipchub::SharedMemory>(std::move(*segment));
	std::memset(state.segment->data().data(), 0, state.segment->size());
	state.raw = sdbus::createSessionBusConnectionWithAddress(env.address());
	state.bare = bareProxy(*state.raw);
	state.segmentProxy = sdbus::createProxy(*state.raw, "io.github.ipchub1", kSegmentPath);
	world = &state;
	const int status = runWithRatios(
		argc, argv,
		{{"Attach+mmap / bare call returning an fd", "AttachMap", "BareFdCall"},
		 {"Attach+mmap / bare fd call, interleaved blocks", "AttachMapVsBareFd:ratio", ""},
		 {"Attach+mmap / bare fd call, CPU of all processes", "AttachMapVsBareFd:cpu_ratio", ""},
		 {"Attach+mmap+first read / bare fd call, interleaved blocks",
		  "AttachMapReadVsBareFd:ratio", ""},
		 {"Attach+mmap+first read, interleaved (us)", "AttachMapReadVsBareFd:subject_us", ""},
		 {"bare fd call, interleaved (us)", "AttachMapReadVsBareFd:floor_us", ""},
		 {"mmap+first read+munmap alone, no call (ns)", "MapRead", ""},
		 {"Attach alone / bare fd call, interleaved blocks", "AttachVsBareFd:ratio", ""},
		 {"Attach alone / bare fd call, CPU of all processes", "AttachVsBareFd:cpu_ratio", ""},
		 {"Open+Attach+mmap+Close / three bare calls", "OpenAttachMap", "BareThreeCalls"},
		 {"mapping bandwidth / memcpy, 64 KiB", "WritePrivate/65536", "WriteMapping/65536"},
		 {"mapping bandwidth / memcpy, 1 MiB", "WritePrivate/1048576", "WriteMapping/1048576"},
		 {"mapping bandwidth / memcpy, 64 MiB", "WritePrivate/67108864",
		  "WriteMapping/67108864"}});
	world = nullptr;
	return status;
}
