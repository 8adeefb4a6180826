// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// A Flatpak app as flatpak runs it, without flatpak: xdg-dbus-proxy (--filter
// --talk=io.github.ipchub1) in a bubblewrap sandbox of its own whose /.flatpak-info
// names the app, so that the bus credentials of its connection lead ipchubd to the app
// id; and the app's processes in a second sandbox with the same /.flatpak-info, the
// host's /usr and /etc read-only, their own /tmp and pid namespace, and the proxy's
// socket as their only session bus (/run/user/UID/bus).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "bus_fixture.hpp"

namespace ipchub::test {

// Which of bubblewrap and xdg-dbus-proxy is not installed; nothing when both are. The
// sandbox tests skip only then: installed, a sandbox that does not start is a failure.
std::optional<std::string> sandboxUnavailable();
// Why bubblewrap cannot make a sandbox here; nothing when it can.
std::optional<std::string> sandboxStartError();

class FlatpakApp
{
public:
	// Starts the app's proxy to the bus at busAddress and waits until it is ready.
	FlatpakApp(const std::string &busAddress, const std::string &appId);
	~FlatpakApp();
	FlatpakApp(const FlatpakApp &) = delete;
	FlatpakApp &operator=(const FlatpakApp &) = delete;

	const std::string &appId() const { return appId_; }
	// The bwrap command line that runs argv inside the app's sandbox.
	std::vector<std::string> command(const std::vector<std::string> &argv) const;
	// Runs argv inside the app's sandbox to completion.
	CommandResult run(const std::vector<std::string> &argv,
			  std::chrono::milliseconds timeout = 20s) const;

private:
	std::string appId_;
	std::string dir_;
	Child proxy_;
	int proxyReady_ = -1;
};

// A process inside a sandbox that answers one line for each line it is sent: the
// sandbox client (tests/integration/sandbox_client.cpp).
class Conversation
{
public:
	explicit Conversation(const std::vector<std::string> &argv);
	~Conversation();
	Conversation(const Conversation &) = delete;
	Conversation &operator=(const Conversation &) = delete;

	// Sends line and returns the answer; "timeout" when none came within timeout.
	std::string ask(const std::string &line, std::chrono::milliseconds timeout = 20s);
	// The next line it prints; "timeout" when none came within timeout.
	std::string readLine(std::chrono::milliseconds timeout = 20s);
	// Closes its input and waits for it to end; its exit status.
	int finish();

private:
	Child child_;
	int in_ = -1;
	int out_ = -1;
	std::string buffered_;
};

// The built sandbox client's path (from the build system).
std::string sandboxClientPath();

} // namespace ipchub::test
