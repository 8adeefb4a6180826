// SPDX-License-Identifier: LGPL-2.1-or-later
// A semaphore Acquire+Release pair against a bare round-trip pair, and the local
// primitives QSystemSemaphore builds on (SysV semop) and a POSIX semaphore as
// references: what a semaphore costs without a bus.

#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

BenchEnv *env;

void BM_BarePair(benchmark::State &state)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto proxy = bareProxy(*connection);
	for (auto _ : state) {
		proxy->callMethod("Ping").onInterface(kBareInterface);
		proxy->callMethod("Ping").onInterface(kBareInterface);
	}
}
BENCHMARK(BM_BarePair)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_SemaphorePair(benchmark::State &state)
{
	auto client = Client::connect(env->address());
	auto semaphore = client->createSemaphore("bench", 1, {.openExisting = true});
	if (!semaphore) {
		state.SkipWithError(semaphore.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		if (!semaphore->acquire(1, kForever) || !semaphore->release(1)) {
			state.SkipWithError("acquire or release failed");
			return;
		}
	}
}
BENCHMARK(BM_SemaphorePair)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Both pairs in alternating blocks of one run: the ratio a loaded machine distorts least.
void BM_SemaphoreVsBare(benchmark::State &state)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto proxy = bareProxy(*connection);
	auto client = Client::connect(env->address());
	auto semaphore = client->createSemaphore("bench", 1, {.openExisting = true});
	if (!semaphore) {
		state.SkipWithError(semaphore.error().message.c_str());
		return;
	}
	compareInterleaved(
		state, *env,
		[&] {
			proxy->callMethod("Ping").onInterface(kBareInterface);
			proxy->callMethod("Ping").onInterface(kBareInterface);
		},
		[&] {
			if (!semaphore->acquire(1, kForever) || !semaphore->release(1))
				throw std::runtime_error("acquire or release failed");
		});
}
BENCHMARK(BM_SemaphoreVsBare)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// QSystemSemaphore's acquire/release on Unix: semop on a SysV semaphore set.
void BM_SysvSemopPair(benchmark::State &state)
{
	const int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	if (id < 0) {
		state.SkipWithError("semget failed");
		return;
	}
	semctl(id, 0, SETVAL, 1);
	sembuf down{0, -1, SEM_UNDO}, up{0, 1, SEM_UNDO};
	for (auto _ : state) {
		semop(id, &down, 1);
		semop(id, &up, 1);
	}
	semctl(id, 0, IPC_RMID);
}
BENCHMARK(BM_SysvSemopPair)->UseRealTime();

void BM_PosixSemPair(benchmark::State &state)
{
	sem_t semaphore;
	sem_init(&semaphore, 1, 1);
	for (auto _ : state) {
		sem_wait(&semaphore);
		sem_post(&semaphore);
	}
	sem_destroy(&semaphore);
}
BENCHMARK(BM_PosixSemPair)->UseRealTime();

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	ipchub::bench::BenchEnv env;
	ipchub::bench::env = &env;
	return ipchub::bench::runWithRatios(
		argc, argv,
		{{"semaphore Acquire+Release / bare pair", "BM_SemaphorePair", "BM_BarePair"},
		 {"semaphore pair / bare pair, interleaved blocks", "BM_SemaphoreVsBare:ratio", ""},
		 {"semaphore pair / bare pair, CPU of all processes", "BM_SemaphoreVsBare:cpu_ratio",
		  ""},
		 {"semaphore pair, interleaved (us)", "BM_SemaphoreVsBare:subject_us", ""},
		 {"bare pair, interleaved (us)", "BM_SemaphoreVsBare:floor_us", ""},
		 {"SysV semop pair / bare pair", "BM_SysvSemopPair", "BM_BarePair"},
		 {"POSIX sem_wait+sem_post / bare pair", "BM_PosixSemPair", "BM_BarePair"}});
}
