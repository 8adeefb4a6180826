// SPDX-License-Identifier: LGPL-2.1-or-later
// Being told, in a GLib main loop: Lock::onChanged shows who holds a lock as another
// connection takes it and lets it go, and Client::onDisconnected would say that
// ipchubd went (and with it a grant of a non-persistent lock). Both callbacks run from
// Client::process(), in the loop. Run on a bus where ipchubd serves; exit status 0
// when the grant and its release were seen.

#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "glib_ipchub.hpp"

using namespace std::chrono_literals;

namespace {

const char *modeName(ipchub::LockState mode)
{
	switch (mode) {
	case ipchub::LockState::Unlocked:
		return "unlocked";
	case ipchub::LockState::Shared:
		return "shared";
	case ipchub::LockState::Exclusive:
		return "exclusive";
	}
	return "?";
}

} // namespace

int main()
{
	auto client = ipchub::Client::connect();
	auto other = ipchub::Client::connect();
	if (!client || !other)
		return 1;
	auto lock = client->createLock("glib-watched");
	auto otherLock = other->openLock("glib-watched");
	if (!lock || !otherLock)
		return 1;

	GMainLoop *mainLoop = g_main_loop_new(nullptr, FALSE);
	GlibIpchub adapter(*client);
	struct State {
		GMainLoop *loop = nullptr;
		ipchub::Lock *otherLock = nullptr;
		std::optional<ipchub::LockGuard> holding;
		bool sawGrant = false;
		bool sawRelease = false;
	} state;
	state.loop = mainLoop;
	state.otherLock = &*otherLock;

	// Typed properties: the first call tells the state now, then one per change.
	auto watching = lock->onChanged([&state](const ipchub::LockProperties &lock) {
		std::printf("lock %s, %zu holder(s), token %llu\n", modeName(lock.mode),
			    lock.holders.size(), static_cast<unsigned long long>(lock.token));
		if (lock.mode == ipchub::LockState::Exclusive && lock.holders.size() == 1)
			state.sawGrant = true;
		if (state.sawGrant && lock.mode == ipchub::LockState::Unlocked) {
			state.sawRelease = true;
			g_main_loop_quit(state.loop);
		}
	});
	// An application that holds a lock learns here that it may have lost it.
	auto departure = client->onDisconnected([&state](const ipchub::Error &error) {
		std::fprintf(stderr, "ipchubd or the bus went: %s\n", error.message.c_str());
		g_main_loop_quit(state.loop);
	});
	if (!watching || !departure) {
		std::fprintf(stderr, "cannot subscribe\n");
		return 1;
	}

	// The other connection takes the lock at 100 ms and lets it go at 200 ms.
	g_timeout_add(
		100,
		[](gpointer data) -> gboolean {
			auto &state = *static_cast<State *>(data);
			if (auto guard = state.otherLock->acquire(ipchub::LockMode::Exclusive, 1s))
				state.holding.emplace(std::move(*guard));
			return G_SOURCE_REMOVE;
		},
		&state);
	g_timeout_add(
		200,
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
	adapter.schedule();
	g_main_loop_run(mainLoop);
	g_main_loop_unref(mainLoop);

	if (!state.sawGrant || !state.sawRelease) {
		std::fprintf(stderr, "the grant and its release were not both seen\n");
		return 1;
	}
	return 0;
}
