// SPDX-License-Identifier: LGPL-2.1-or-later
// A lock Acquire+Release pair, exclusive and shared, against a bare round-trip pair.

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

void lockPair(benchmark::State &state, LockMode mode)
{
	auto client = Client::connect(env->address());
	if (!client) {
		state.SkipWithError(client.error().message.c_str());
		return;
	}
	auto lock = client->createLock("bench", {.openExisting = true});
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	for (auto _ : state) {
		auto guard = lock->acquire(mode, kForever);
		if (!guard || !guard->release()) {
			state.SkipWithError("Acquire or Release failed");
			return;
		}
	}
}

void BM_ExclusiveLockPair(benchmark::State &state)
{
	lockPair(state, LockMode::Exclusive);
}

void BM_SharedLockPair(benchmark::State &state)
{
	lockPair(state, LockMode::Shared);
}

void BM_ExclusiveLockVsBare(benchmark::State &state)
{
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto proxy = bareProxy(*connection);
	auto client = Client::connect(env->address());
	auto lock = client ? client->createLock("bench", {.openExisting = true})
			   : Result<Lock>(fail(ErrorCode::Failed, "no connection"));
	if (!lock) {
		state.SkipWithError(lock.error().message.c_str());
		return;
	}
	compareInterleaved(
		state, *env,
		[&] {
			proxy->callMethod("Ping").onInterface(kBareInterface);
			proxy->callMethod("Ping").onInterface(kBareInterface);
		},
		[&] {
			auto guard = lock->acquire(LockMode::Exclusive, kForever);
			if (!guard || !guard->release())
				throw std::runtime_error("Acquire or Release failed");
		});
}

BENCHMARK(BM_BarePair)->UseRealTime();
BENCHMARK(BM_ExclusiveLockVsBare)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ExclusiveLockPair)->UseRealTime();
BENCHMARK(BM_SharedLockPair)->UseRealTime();

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	ipchub::bench::BenchEnv env;
	ipchub::bench::env = &env;
	return ipchub::bench::runWithRatios(
		argc, argv,
		{{"exclusive lock Acquire+Release / bare pair", "BM_ExclusiveLockPair", "BM_BarePair"},
		 {"shared lock Acquire+Release / bare pair", "BM_SharedLockPair", "BM_BarePair"},
		 {"exclusive lock pair / bare pair, interleaved blocks", "BM_ExclusiveLockVsBare:ratio",
		  ""},
		 {"exclusive lock pair / bare pair, CPU of all processes",
		  "BM_ExclusiveLockVsBare:cpu_ratio", ""}});
}
