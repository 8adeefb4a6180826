// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared memory against the bare bus floor (see bench_env.hpp):
//
//   BareFdCall      one call to the bare service returning a memfd
//   BareThreeCalls  bare Ping, bare Fd, bare Ping: three round trips
//   AttachMap       Attach(false) on an open shared-memory object + mmap + munmap: one round trip
//   MapRead         mmap + first read + munmap of a descriptor already held: what the
//                   kernel charges for a mapping, whoever handed out the descriptor
//   OpenAttachMap   Client::openSharedMemory, a read, destruction: Open, Attach, mmap,
//                   the first read, munmap, Close: three round trips; also interleaved
//                   with BareThreeCalls (OpenAttachMapVsBareThree)
//   AttachMapVsBareFd, AttachMapReadVsBareFd, AttachVsBareFd
//                   Attach+mmap, Attach+mmap+first read, Attach alone, interleaved
//                   with the bare fd call
//   AttachMapReadVsBareFdMapRead
//                   Attach+mmap+first read interleaved with the bare fd call followed
//                   by the same mmap + first read + munmap of the bare service's memfd,
//                   which is as large as the shared-memory object
//   WriteMappingVsPrivate
//                   memcpy into the shared-memory object's mapping interleaved with memcpy into
//                   private memory, the same size

#include <cstring>
#include <memory>
#include <stdexcept>
#include <sys/mman.h>
#include <vector>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

constexpr const char *kSharedMemoryPath = "/io/github/ipchub1/shm/bench";

struct World {
	const BenchEnv *env = nullptr;
	std::unique_ptr<Client> client;
	std::unique_ptr<SharedMemory> sharedMemory;
	// Opens and closes the shared-memory object: a connection of its own, because Close drops
	// the connection's one reference, and the creator's must stay.
	std::unique_ptr<Client> reader;
	std::unique_ptr<sdbus::IConnection> raw;
	std::unique_ptr<sdbus::IProxy> bare;
	std::unique_ptr<sdbus::IProxy> sharedMemoryProxy;
};

World *world = nullptr;

// The bare service's memfd, kBareMemfdSize bytes.
sdbus::UnixFd bareFd()
{
	sdbus::UnixFd fd;
	world->bare->callMethod("Fd").onInterface(kBareInterface).storeResultsTo(fd);
	return fd;
}

void bareFdCall()
{
	benchmark::DoNotOptimize(bareFd().get());
}

// Attach(false) on the shared-memory object: a read-only descriptor, and the size in size.
sdbus::UnixFd attach(uint64_t &size)
{
	sdbus::UnixFd fd;
	world->sharedMemoryProxy->callMethod("Attach")
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

void bareThreeCalls()
{
	world->bare->callMethod("Ping").onInterface(kBareInterface);
	bareFdCall();
	world->bare->callMethod("Ping").onInterface(kBareInterface);
}

void BareThreeCalls(benchmark::State &state)
{
	for (auto _ : state)
		bareThreeCalls();
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
	const int fd = world->sharedMemory->fd();
	const size_t size = world->sharedMemory->size();
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

// Attach+mmap+first read against the bare fd call followed by the same mapping of the
// bare service's memfd (as large as the shared-memory object): what of the first read is ipchub's.
void AttachMapReadVsBareFdMapRead(benchmark::State &state)
{
	compareInterleaved(
		state, *world->env,
		[] {
			if (!mapOnce(bareFd().get(), kBareMemfdSize, true))
				throw std::runtime_error("mmap failed");
		},
		[] { attachMap(true); });
}

// Client::openSharedMemory, a read of the first byte, and the view's end: Open,
// Attach, mmap, the read, munmap, Close.
void openAttachMap()
{
	auto view = world->reader->openSharedMemory("bench", Access::ReadOnly);
	if (!view)
		throw std::runtime_error(view.error().message);
	benchmark::DoNotOptimize(view->constData()[0]);
}

void OpenAttachMap(benchmark::State &state)
{
	for (auto _ : state)
		openAttachMap();
}

void OpenAttachMapVsBareThree(benchmark::State &state)
{
	compareInterleaved(state, *world->env, bareThreeCalls, openAttachMap);
}

// memcpy of range(0) bytes into the shared-memory object's mapping (the floor) and into private
// memory (the subject), in alternating blocks: ratio, the private copy's time over the
// mapping's, is the mapping's bandwidth over memcpy's (run apart, the two drifted 10%
// from run to run). The private memory is an anonymous mapping, page-aligned as the
// shared-memory object is: a heap block, at another offset from the source than the shared-memory
// object, was copied 0.6-1.1x as fast. Both are touched first, so neither pays for faults.
void WriteMappingVsPrivate(benchmark::State &state)
{
	const auto bytes = static_cast<size_t>(state.range(0));
	std::vector<std::byte> source(bytes, std::byte{0x5a});
	void *anonymous =
		mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anonymous == MAP_FAILED) {
		state.SkipWithError("mmap failed");
		return;
	}
	auto *target = static_cast<std::byte *>(anonymous);
	std::memset(target, 0, bytes);
	auto mapping = world->sharedMemory->data().first(bytes);
	auto copyTo = [&](std::byte *to) {
		std::memcpy(to, source.data(), bytes);
		benchmark::ClobberMemory();
	};
	compareInterleaved(
		state, *world->env, [&] { copyTo(mapping.data()); }, [&] { copyTo(target); }, {},
		20, bytes >= (16u << 20) ? 3 : 25);
	munmap(anonymous, bytes);
	state.counters["mapping_GBps"] =
		static_cast<double>(bytes) / 1e3 / state.counters["floor_us"];
	state.counters["private_GBps"] =
		static_cast<double>(bytes) / 1e3 / state.counters["subject_us"];
}

constexpr int64_t kSharedMemorySize = kBareMemfdSize;

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
BENCHMARK(AttachMapReadVsBareFdMapRead)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(OpenAttachMapVsBareThree)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(AttachVsBareFd)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(WriteMappingVsPrivate)
	->Arg(64 << 10)
	->Arg(1 << 20)
	->Arg(kSharedMemorySize)
	->Iterations(1)
	->Unit(benchmark::kMillisecond)
	->UseRealTime();

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
	auto sharedMemory = state.client->createSharedMemory("bench", kSharedMemorySize);
	if (!sharedMemory)
		throw std::runtime_error(sharedMemory.error().message);
	state.sharedMemory = std::make_unique<ipchub::SharedMemory>(std::move(*sharedMemory));
	std::memset(state.sharedMemory->data().data(), 0, state.sharedMemory->size());
	state.raw = sdbus::createSessionBusConnectionWithAddress(env.address());
	state.bare = bareProxy(*state.raw);
	state.sharedMemoryProxy =
		sdbus::createProxy(*state.raw, "io.github.ipchub1", kSharedMemoryPath);
	world = &state;
	const int status = runWithRatios(
		argc, argv,
		{{"Attach+mmap / bare call returning an fd", "AttachMap", "BareFdCall"},
		 {"Attach+mmap / bare fd call, interleaved blocks", "AttachMapVsBareFd:ratio", ""},
		 {"Attach+mmap / bare fd call, CPU of all processes", "AttachMapVsBareFd:cpu_ratio",
		  ""},
		 {"Attach+mmap+first read / bare fd call, interleaved blocks",
		  "AttachMapReadVsBareFd:ratio", ""},
		 {"Attach+mmap+first read, interleaved (us)", "AttachMapReadVsBareFd:subject_us",
		  ""},
		 {"bare fd call, interleaved (us)", "AttachMapReadVsBareFd:floor_us", ""},
		 {"mmap+first read+munmap alone, no call (ns)", "MapRead", ""},
		 {"Attach+mmap+first read / bare fd call+mmap+first read, interleaved blocks",
		  "AttachMapReadVsBareFdMapRead:ratio", ""},
		 {"  the same, CPU of all processes", "AttachMapReadVsBareFdMapRead:cpu_ratio", ""},
		 {"Attach alone / bare fd call, interleaved blocks", "AttachVsBareFd:ratio", ""},
		 {"Attach alone / bare fd call, CPU of all processes", "AttachVsBareFd:cpu_ratio",
		  ""},
		 {"Open+Attach+mmap+Close / three bare calls", "OpenAttachMap", "BareThreeCalls"},
		 {"Open+Attach+mmap+first read+Close / three bare calls, interleaved blocks",
		  "OpenAttachMapVsBareThree:ratio", ""},
		 {"mapping bandwidth / memcpy, 64 KiB, interleaved blocks",
		  "WriteMappingVsPrivate/65536:ratio", ""},
		 {"mapping bandwidth / memcpy, 1 MiB, interleaved blocks",
		  "WriteMappingVsPrivate/1048576:ratio", ""},
		 {"mapping bandwidth / memcpy, 64 MiB, interleaved blocks",
		  "WriteMappingVsPrivate/67108864:ratio", ""},
		 {"mapping bandwidth, 64 MiB (GB/s)", "WriteMappingVsPrivate/67108864:mapping_GBps",
		  ""}});
	world = nullptr;
	return status;
}
