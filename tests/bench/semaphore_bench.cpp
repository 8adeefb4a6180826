// A semaphore Acquire+Release pair against a bare round-trip pair.

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

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	ipchub::bench::BenchEnv env;
	ipchub::bench::env = &env;
	return ipchub::bench::runWithRatios(argc, argv, {{"semaphore Acquire+Release / bare pair", "BM_SemaphorePair", "BM_BarePair"}});
}
