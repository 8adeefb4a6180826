// SPDX-License-Identifier: LGPL-2.1-or-later
// A lock wait in a GLib main loop: Lock::acquireAsync on a lock another connection
// holds, while a 10 ms g_timeout ticks; the holder releases after 300 ms and the
// callback runs in the loop. Run on a bus where ipchubd serves; exit status 0 when all
// held.

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "glib_ipchub.hpp"

using namespace std::chrono_literals;

int main()
{
	auto client = ipchub::Client::connect();
	auto other = ipchub::Client::connect();
	if (!client || !other)
		return 1;
	auto lock = client->createLock("glib-db");
	auto holderLock = other->openLock("glib-db");
	if (!lock || !holderLock)
		return 1;
	auto holding = holderLock->acquire(ipchub::LockMode::Exclusive, 1s);
	if (!holding)
		return 1;

	GMainLoop *mainLoop = g_main_loop_new(nullptr, FALSE);
	GlibIpchub adapter(*client);
	struct State {
		GMainLoop *loop = nullptr;
		int ticks = 0;
		int ticksAtGrant = 0;
		std::optional<ipchub::LockGuard> guard;
		std::optional<ipchub::Error> error;
		// The other connection's grant.
		std::optional<ipchub::LockGuard> holding;
	} state;
	state.loop = mainLoop;
	state.holding.emplace(std::move(*holding));

	g_timeout_add(
		10,
		[](gpointer data) -> gboolean {
			++static_cast<State *>(data)->ticks;
			return G_SOURCE_CONTINUE;
		},
		&state);
	// The holder lets go 300 ms later, from the same loop.
	g_timeout_add(
		300,
		[](gpointer data) -> gboolean {
			static_cast<State *>(data)->holding.reset();
			return G_SOURCE_REMOVE;
		},
		&state);
	g_timeout_add(
		10'000,
		[](gpointer data) -> gboolean {
			g_main_loop_quit(static_cast<State *>(data)->loop);
			return G_SOURCE_REMOVE;
		},
		&state);

	const auto start = std::chrono::steady_clock::now();
	auto wait = lock->acquireAsync(ipchub::LockMode::Exclusive, 5s,
				       [&state](ipchub::Result<ipchub::LockGuard> result) {
					       state.ticksAtGrant = state.ticks;
					       if (result)
						       state.guard.emplace(std::move(*result));
					       else
						       state.error = result.error();
					       g_main_loop_quit(state.loop);
				       });
	adapter.schedule();
	g_main_loop_run(mainLoop);
	const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now() - start);
	g_main_loop_unref(mainLoop);

	if (state.error) {
		std::fprintf(stderr, "the wait failed: %s\n", state.error->message.c_str());
		return 1;
	}
	if (!state.guard) {
		std::fprintf(stderr, "the wait did not end\n");
		return 1;
	}
	std::printf("locked after %lld ms (token %llu); the 10 ms timer ticked %d times meanwhile\n",
		    static_cast<long long>(waited.count()),
		    static_cast<unsigned long long>(state.guard->token()), state.ticksAtGrant);
	if (waited < 300ms || state.ticksAtGrant < 10) {
		std::fprintf(stderr, "the loop did not run while it waited\n");
		return 1;
	}
	return 0;
}
