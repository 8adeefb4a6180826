// SPDX-License-Identifier: LGPL-2.1-or-later
// A lock wait that keeps a Qt event loop responsive: acquireAsync on a semaphore that
// another connection holds, while a 10 ms QTimer ticks; the other connection releases
// after 300 ms and the callback runs in the loop. Then a wait whose handle is dropped
// takes nothing. Run on a bus where ipchubd serves; exit status 0 when all held.

#include <chrono>
#include <cstdio>
#include <optional>

#include <QCoreApplication>
#include <QTimer>

#include "qt_ipchub.hpp"

using namespace std::chrono_literals;

int main(int argc, char **argv)
{
	QCoreApplication app(argc, argv);
	auto client = ipchub::Client::connect();
	auto other = ipchub::Client::connect();
	if (!client || !other) {
		std::fprintf(stderr, "cannot connect\n");
		return 1;
	}
	auto busy = client->createSemaphore("qt-busy", 0);
	auto held = other->openSemaphore("qt-busy");
	if (!busy || !held) {
		std::fprintf(stderr, "cannot create the semaphore\n");
		return 1;
	}
	QtIpchub loop(*client);

	int ticks = 0;
	QTimer ticker;
	QObject::connect(&ticker, &QTimer::timeout, [&] { ++ticks; });
	ticker.start(10);

	const auto start = std::chrono::steady_clock::now();
	std::optional<ipchub::Result<void>> outcome;
	int ticksAtGrant = 0;
	auto wait = busy->acquireAsync(1, 5s, [&](ipchub::Result<void> result) {
		outcome = std::move(result);
		ticksAtGrant = ticks;
		app.quit();
	});
	loop.schedule();
	// The other connection posts the unit 300 ms later, from the same loop.
	QTimer::singleShot(300, [&] { (void)held->release(1); });
	QTimer::singleShot(10'000, [&] { app.quit(); });
	app.exec();
	const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now() - start);

	if (!outcome) {
		std::fprintf(stderr, "the wait did not end\n");
		return 1;
	}
	if (!*outcome) {
		std::fprintf(stderr, "the wait failed: %s\n", outcome->error().message.c_str());
		return 1;
	}
	std::printf("acquired after %lld ms; the 10 ms timer ticked %d times meanwhile\n",
		    static_cast<long long>(waited.count()), ticksAtGrant);
	// A blocked loop would have ticked once or not at all.
	if (waited < 300ms || ticksAtGrant < 10) {
		std::fprintf(stderr, "the loop did not run while it waited\n");
		return 1;
	}
	if (!busy->release(1))
		return 1;

	// A dropped handle cancels its wait: the unit posted later stays free.
	auto blocked = client->createSemaphore("qt-empty", 0);
	if (!blocked)
		return 1;
	bool called = false;
	{
		auto dropped =
			blocked->acquireAsync(1, 5s, [&](ipchub::Result<void>) { called = true; });
	}
	if (!blocked->release(1))
		return 1;
	QTimer::singleShot(200, [&] { app.quit(); });
	app.exec();
	if (called || blocked->value().value_or(0) != 1 || blocked->waiters().value_or(1) != 0) {
		std::fprintf(stderr, "a cancelled wait took the unit or ran its callback\n");
		return 1;
	}
	std::printf("a dropped wait took nothing\n");
	return 0;
}
