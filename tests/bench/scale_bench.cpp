// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchub under load, against the bare service where there is a floor:
//
//   PairThroughput/K/N  Acquire+Release pairs (K=1) or bare Ping pairs (K=0) per second
//                       of N clients, each a thread with its own connection, at once
//   ParkedWaiters/K     an unrelated call, bare Ping (K=0, 2) or TryAcquire on another
//                       semaphore (K=1, 3), alone and with 10,000 waits parked on one
//                       semaphore: Acquire calls (K=0, 1: pending in dbus-daemon,
//                       deferred in ipchubd) or Wait tickets (K=2, 3: answered at
//                       once, the grant would come as a WaitEnded signal); K=4, bare
//                       Ping with 10,000 calls parked on the bare service: the floor
//   SignalSubscriber    a semaphore pair without and with a connection that receives
//                       the PropertiesChanged signals
// and, measured before them, ipchubd's RSS per object and per parked waiter.

#include <atomic>
#include <chrono>
#include <poll.h>
#include <thread>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";
constexpr const char *kParkedPath = "/io/github/ipchub1/semaphore/parked";
constexpr uint32_t kParked = 10000;
// ipchubd queues at most 4096 waits per connection by default.
constexpr uint32_t kWaiterConnections = 3;

BenchEnv *env;

Client connect()
{
	auto client = Client::connect(env->address());
	if (!client)
		throw std::runtime_error(client.error().message);
	return std::move(*client);
}

// ---- throughput --------------------------------------------------------------------

void PairThroughput(benchmark::State &state)
{
	const bool semaphore = state.range(0) == 1;
	const auto clients = static_cast<int>(state.range(1));
	for (auto _ : state) {
		std::atomic<int> ready = 0;
		std::atomic<bool> go = false, stop = false;
		std::atomic<uint64_t> pairs = 0;
		std::vector<std::thread> threads;
		for (int i = 0; i < clients; ++i)
			threads.emplace_back([&] {
				auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
				auto bare = bareProxy(*connection);
				auto client = connect();
				// Units for every client: this measures the service, not contention.
				auto sem = client.createSemaphore("throughput", 16, {.openExisting = true});
				++ready;
				while (!go)
					std::this_thread::yield();
				uint64_t done = 0;
				while (!stop) {
					if (semaphore) {
						(void)sem->acquire(1, kForever);
						(void)sem->release(1);
					} else {
						bare->callMethod("Ping").onInterface(kBareInterface);
						bare->callMethod("Ping").onInterface(kBareInterface);
					}
					++done;
				}
				pairs += done;
			});
		while (ready < clients)
			std::this_thread::sleep_for(1ms);
		// CPU per pair of dbus-daemon and of the service that answers (ipchubd or the
		// bare one): where the time goes when many clients share two cores.
		const pid_t service = semaphore ? env->ipchubdPid() : env->barePid();
		const uint64_t busBefore = cpuNs(env->busPid()), serviceBefore = cpuNs(service);
		const auto start = std::chrono::steady_clock::now();
		go = true;
		std::this_thread::sleep_for(1s);
		stop = true;
		for (auto &thread : threads)
			thread.join();
		const double seconds =
			std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
		state.SetIterationTime(seconds);
		state.counters["pairs_per_s"] = static_cast<double>(pairs) / seconds;
		const double n = static_cast<double>(std::max<uint64_t>(pairs, 1));
		state.counters["bus_us_per_pair"] =
			static_cast<double>(cpuNs(env->busPid()) - busBefore) / n / 1000;
		state.counters["service_us_per_pair"] =
			static_cast<double>(cpuNs(service) - serviceBefore) / n / 1000;
	}
}
BENCHMARK(PairThroughput)
	->ArgsProduct({{0, 1}, {1, 4, 16}})
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

// ---- parked waiters ----------------------------------------------------------------

// How kParked waits are parked.
enum class Parking {
	AcquireCalls, // Acquire: a method call pending a reply in dbus-daemon, deferred in ipchubd
	WaitTickets,  // Wait: answered at once, the grant would come as a WaitEnded signal
	BareCalls,    // the bare service's Park: pending in dbus-daemon, ipchubd not involved
};

// A proxy of what parking parks on: the semaphore "parked", or the bare service.
std::unique_ptr<sdbus::IProxy> parkingProxy(sdbus::IConnection &connection, Parking parking)
{
	return parking == Parking::BareCalls
		       ? bareProxy(connection)
		       : sdbus::createProxy(connection, "io.github.ipchub1", kParkedPath);
}

// kParked waits on the semaphore "parked" (0 units), or calls to the bare service's
// Park, sent asynchronously from kWaiterConnections connections; they end when the
// connections do. observer is the semaphore's proxy, or the bare service's.
class ParkedWaiters
{
public:
	ParkedWaiters(sdbus::IProxy &observer, Parking parking) : observer_(observer), parking_(parking)
	{
		const uint32_t before = parked();
		for (uint32_t c = 0; c < kWaiterConnections; ++c) {
			connections_.push_back(sdbus::createSessionBusConnectionWithAddress(env->address()));
			proxies_.push_back(parkingProxy(*connections_.back(), parking));
		}
		for (uint32_t i = 0; i < kParked; ++i) {
			auto &proxy = *proxies_[i % kWaiterConnections];
			if (parking == Parking::BareCalls) {
				proxy.callMethodAsync("Park")
					.onInterface(kBareInterface)
					.withTimeout(24h)
					.uponReplyInvoke([](const sdbus::Error *) {});
				continue;
			}
			auto call = proxy.callMethodAsync(parking == Parking::WaitTickets ? "Wait" : "Acquire");
			call.onInterface(kSemaphoreInterface).withTimeout(24h).withArguments(1u, UINT64_MAX);
			if (parking == Parking::WaitTickets)
				call.uponReplyInvoke([](const sdbus::Error *, uint64_t) {});
			else
				call.uponReplyInvoke([](const sdbus::Error *) {});
		}
		const auto deadline = std::chrono::steady_clock::now() + 120s;
		while (parked() < before + kParked) {
			if (std::chrono::steady_clock::now() > deadline)
				throw std::runtime_error("the waiters were not all parked in 120 s");
			// Sends what is queued; the calls get no reply while they are parked.
			std::vector<pollfd> fds;
			for (auto &connection : connections_) {
				while (connection->processPendingRequest()) {
				}
				const auto data = connection->getEventLoopPollData();
				fds.push_back({data.fd, static_cast<short>(data.events), 0});
			}
			poll(fds.data(), fds.size(), 10);
		}
	}

	~ParkedWaiters()
	{
		proxies_.clear();
		connections_.clear();
		if (parking_ == Parking::BareCalls)
			observer_.callMethod("Unpark").onInterface(kBareInterface);
	}

	ParkedWaiters(const ParkedWaiters &) = delete;
	ParkedWaiters &operator=(const ParkedWaiters &) = delete;

	// The waits parked now: the semaphore's Waiters, or the bare service's Parked.
	uint32_t parked()
	{
		uint32_t count = 0;
		if (parking_ == Parking::BareCalls)
			observer_.callMethod("Parked").onInterface(kBareInterface).storeResultsTo(count);
		else
			count = observer_.getProperty("Waiters").onInterface(kSemaphoreInterface).get<uint32_t>();
		return count;
	}

private:
	sdbus::IProxy &observer_;
	Parking parking_;
	std::vector<std::unique_ptr<sdbus::IConnection>> connections_;
	std::vector<std::unique_ptr<sdbus::IProxy>> proxies_;
};

// K = 0..3 as the file's comment says; K = 4: bare Ping with 10,000 bare calls parked,
// the bus's own cost, for comparison with K = 0.
void ParkedWaitersSlowdown(benchmark::State &state)
{
	auto owner = connect();
	auto parked = owner.createSemaphore("parked", 0, {.openExisting = true});
	auto other = owner.createSemaphore("other", 0, {.openExisting = true});
	if (!parked || !other) {
		state.SkipWithError("cannot create the semaphores");
		return;
	}
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto bare = bareProxy(*connection);
	const auto kind = state.range(0);
	const bool tryAcquire = kind == 1 || kind == 3;
	const Parking parking = kind == 4   ? Parking::BareCalls
				: kind >= 2 ? Parking::WaitTickets
					    : Parking::AcquireCalls;
	auto observer = parkingProxy(*connection, parking);
	auto call = [&] {
		if (tryAcquire)
			(void)other->tryAcquire(1);
		else
			bare->callMethod("Ping").onInterface(kBareInterface);
	};
	auto medianUs = [&](std::vector<double> &times) {
		times.clear();
		for (int i = 0; i < 300; ++i) {
			const auto start = std::chrono::steady_clock::now();
			call();
			times.push_back(std::chrono::duration<double, std::micro>(
						std::chrono::steady_clock::now() - start)
						.count());
		}
		std::nth_element(times.begin(), times.begin() + 150, times.end());
		return times[150];
	};
	std::vector<double> times;
	std::vector<double> idleUs, parkedUs;
	for (auto _ : state) {
		// idle, parked, idle, parked...: both phases see the same load
		for (int round = 0; round < 3; ++round) {
			idleUs.push_back(medianUs(times));
			ParkedWaiters waiters(*observer, parking);
			parkedUs.push_back(medianUs(times));
		}
	}
	std::sort(idleUs.begin(), idleUs.end());
	std::sort(parkedUs.begin(), parkedUs.end());
	state.counters["idle_us"] = idleUs[1];
	state.counters["parked_us"] = parkedUs[1];
	state.counters["slowdown"] = parkedUs[1] / idleUs[1];
}
BENCHMARK(ParkedWaitersSlowdown)->DenseRange(0, 4)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- the change signals ------------------------------------------------------------

// A connection receiving every PropertiesChanged of ipchub, in its own thread.
struct Subscriber {
	Subscriber()
		: connection(sdbus::createSessionBusConnectionWithAddress(env->address())),
		  match(connection->addMatch("type='signal',sender='io.github.ipchub1',"
					     "interface='org.freedesktop.DBus.Properties',"
					     "member='PropertiesChanged'",
					     [this](sdbus::Message &) { ++received; }))
	{
		connection->enterEventLoopAsync();
	}
	~Subscriber() { connection->leaveEventLoop(); }

	std::unique_ptr<sdbus::IConnection> connection;
	sdbus::Slot match;
	std::atomic<uint64_t> received = 0;
};

void SignalSubscriber(benchmark::State &state)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("signals", 1, {.openExisting = true});
	if (!semaphore) {
		state.SkipWithError(semaphore.error().message.c_str());
		return;
	}
	auto pair = [&] {
		if (!semaphore->acquire(1, kForever) || !semaphore->release(1))
			throw std::runtime_error("acquire or release failed");
	};
	// Blocks of pairs without the subscriber and with it, alternately.
	std::unique_ptr<Subscriber> subscriber;
	compareInterleaved(state, *env, pair, pair, [&](bool subscribed) {
		if (!subscribed)
			subscriber.reset();
		else if (!subscriber)
			subscriber = std::make_unique<Subscriber>();
	});
}
BENCHMARK(SignalSubscriber)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- RSS ---------------------------------------------------------------------------

// ipchubd's RSS growth per object and per parked waiter, measured before anything else
// has grown its heap.
void measureRss()
{
	constexpr int kObjects = 2000;
	const pid_t ipchubd = env->ipchubdPid();
	auto client = connect();
	const long before = rssKiB(ipchubd);
	std::vector<Semaphore> semaphores;
	for (int i = 0; i < kObjects; ++i) {
		auto semaphore = client.createSemaphore("rss-" + std::to_string(i), 1);
		if (!semaphore)
			throw std::runtime_error(semaphore.error().message);
		semaphores.push_back(std::move(*semaphore));
	}
	const long withSemaphores = rssKiB(ipchubd);
	std::vector<Lock> locks;
	for (int i = 0; i < kObjects; ++i) {
		auto lock = client.createLock("rss-" + std::to_string(i));
		if (!lock)
			throw std::runtime_error(lock.error().message);
		locks.push_back(std::move(*lock));
	}
	const long withLocks = rssKiB(ipchubd);
	reportFigure("ipchubd RSS per semaphore (KiB)",
		     static_cast<double>(withSemaphores - before) / kObjects);
	reportFigure("ipchubd RSS per lock (KiB)", static_cast<double>(withLocks - withSemaphores) / kObjects);

	auto parked = client.createSemaphore("parked", 0, {.openExisting = true});
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	auto observer = parkingProxy(*connection, Parking::AcquireCalls);
	const long idle = rssKiB(ipchubd);
	{
		ParkedWaiters waiters(*observer, Parking::AcquireCalls);
		reportFigure("ipchubd RSS per parked waiter (KiB)",
			     static_cast<double>(rssKiB(ipchubd) - idle) / kParked);
	}
}

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	using namespace ipchub::bench;
	BenchEnv env;
	ipchub::bench::env = &env;
	measureRss();
	return runWithRatios(
		argc, argv,
		{{"throughput, 1 client: semaphore / bare pairs", "PairThroughput/1/1:pairs_per_s",
		  "PairThroughput/0/1:pairs_per_s"},
		 {"throughput, 4 clients: semaphore / bare pairs", "PairThroughput/1/4:pairs_per_s",
		  "PairThroughput/0/4:pairs_per_s"},
		 {"throughput, 16 clients: semaphore / bare pairs", "PairThroughput/1/16:pairs_per_s",
		  "PairThroughput/0/16:pairs_per_s"},
		 {"semaphore pairs/s, 1 client", "PairThroughput/1/1:pairs_per_s", ""},
		 {"semaphore pairs/s, 4 clients", "PairThroughput/1/4:pairs_per_s", ""},
		 {"semaphore pairs/s, 16 clients", "PairThroughput/1/16:pairs_per_s", ""},
		 {"bare pairs/s, 1 client", "PairThroughput/0/1:pairs_per_s", ""},
		 {"bare pairs/s, 4 clients", "PairThroughput/0/4:pairs_per_s", ""},
		 {"bare pairs/s, 16 clients", "PairThroughput/0/16:pairs_per_s", ""},
		 {"bare Ping with 10,000 Acquire calls parked / without",
		  "ParkedWaitersSlowdown/0:slowdown", ""},
		 {"TryAcquire with 10,000 Acquire calls parked / without",
		  "ParkedWaitersSlowdown/1:slowdown", ""},
		 {"bare Ping with 10,000 bare calls parked / without (the bus's floor)",
		  "ParkedWaitersSlowdown/4:slowdown", ""},
		 {"bare Ping with 10,000 Wait tickets parked / without",
		  "ParkedWaitersSlowdown/2:slowdown", ""},
		 {"TryAcquire with 10,000 Wait tickets parked / without",
		  "ParkedWaitersSlowdown/3:slowdown", ""},
		 {"semaphore pair with a signal subscriber / without", "SignalSubscriber:ratio", ""},
		 {"  the same, CPU of all processes", "SignalSubscriber:cpu_ratio", ""}});
}
