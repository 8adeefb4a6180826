// SPDX-License-Identifier: LGPL-2.1-or-later
// A libipchub client for the sandboxed tests: run inside bubblewrap behind
// xdg-dbus-proxy, it reads one command a line on stdin and answers one line on stdout,
// "ok [RESULT]" or "error NAME MESSAGE", keeping what it created or opened until it
// ends (at "quit" or end of input). Commands (SCOPE is "-" for none, "@host" for ""):
//   connect                          Client::connect() (the relay comes on by itself)
//   create-sem KEY SCOPE [APP...]    createSemaphore(KEY, 1) with allowed_apps
//   create-persistent-sem KEY        a persistent createSemaphore(KEY, 1), closed at once
//   open-sem KEY SCOPE               openSemaphore
//   acquire-sem KEY                  acquire(1, 0) on the semaphore opened as KEY
//   create-shm KEY SIZE TEXT [APP...]  createSharedMemory, TEXT written at its start
//   open-shm KEY SCOPE ro|rw         openSharedMemory
//   read-shm KEY LENGTH              the first LENGTH bytes of the mapping
//   write-shm KEY TEXT
//   seal-shm KEY                     seal() of the shared-memory object opened as KEY
//   create-lock KEY SCOPE            createLock
//   open-lock KEY SCOPE              openLock
//   lock KEY                         tryAcquire(Exclusive) on the lock opened as KEY
//   remove PATH                      Client::remove
//   watch                            a second connection (sd-bus through the library's
//                                    relay) that calls ipchubd once and records signals
//   listen                           the same connection, calling ipchubd not at all
//   listen-read PATH INTERFACE       GetAll of PATH's INTERFACE on that connection
//   heard-count TEXT N               how many recorded signals mention TEXT, once N do
//                                    (or after 10 s), reading meanwhile
//   heard-until TEXT                 the signals recorded once one mentions TEXT (or
//                                    after 10 s): "PATH MEMBER [OBJECT PATH]" joined by ';',
//                                    a PropertiesChanged with Holders followed by
//                                    " holders=NAME/PID,..." (PID 0 for a semaphore's)

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ipchub/ipchub.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include "handshake_relay.hpp"

namespace {

using namespace ipchub;

struct State {
	std::optional<Client> client;
	std::map<std::string, Semaphore> semaphores;
	std::map<std::string, SharedMemory> sharedMemories;
	std::map<std::string, Lock> locks;
	std::vector<LockGuard> guards;
	std::unique_ptr<detail::HandshakeRelay> relay;
	std::unique_ptr<sdbus::IConnection> watcher;
	sdbus::Slot match;
	std::vector<std::string> heard;
};

std::string errorLine(const Error &error)
{
	return "error " + std::string(errorCodeName(error.code)) + " " + error.message;
}

// " holders=NAME/PID,..." when a PropertiesChanged carries Holders, else "".
std::string holdersOf(sdbus::Message &message)
{
	std::string interface;
	std::map<std::string, sdbus::Variant> changed;
	message >> interface >> changed;
	const auto holders = changed.find("Holders");
	if (holders == changed.end())
		return "";
	std::vector<std::string> entries;
	if (holders->second.containsValueOfType<std::vector<sdbus::Struct<std::string, uint32_t>>>())
		for (const auto &holder :
		     holders->second.get<std::vector<sdbus::Struct<std::string, uint32_t>>>())
			entries.push_back(std::get<0>(holder) + "/0");
	else
		for (const auto &holder :
		     holders->second
			     .get<std::vector<sdbus::Struct<std::string, std::string, uint32_t,
							    std::string, uint64_t, uint64_t>>>())
			entries.push_back(std::get<0>(holder) + "/" +
					  std::to_string(std::get<2>(holder)));
	std::string line = " holders=";
	for (size_t i = 0; i < entries.size(); ++i)
		line += (i ? "," : "") + entries[i];
	return line;
}

std::string startListening(State &state)
{
	const char *address = std::getenv("DBUS_SESSION_BUS_ADDRESS");
	auto relay = detail::HandshakeRelay::start(address ? address : "");
	if (!relay)
		return errorLine(relay.error());
	state.relay = std::move(*relay);
	state.watcher = sdbus::createSessionBusConnectionWithAddress(state.relay->address());
	state.match = state.watcher->addMatch(
		"type='signal',path_namespace='/io/github/ipchub1'",
		[&state](sdbus::Message &message) {
			std::string line = message.getPath() + " " + message.getMemberName();
			if (message.getMemberName().starts_with("Interfaces")) {
				sdbus::ObjectPath path;
				message >> path;
				line += " " + path;
			}
			if (message.getMemberName() == "PropertiesChanged")
				line += holdersOf(message);
			state.heard.push_back(line);
		});
	return "ok";
}

std::string watch(State &state)
{
	if (auto listening = startListening(state); listening != "ok")
		return listening;
	// ipchubd sends its signals to the connections that called GetManagedObjects (a
	// sandboxed one is refused the list, and watches all the same), as far as they
	// may see.
	auto proxy = sdbus::createProxy(*state.watcher, "io.github.ipchub1", "/io/github/ipchub1");
	try {
		proxy->callMethod("GetManagedObjects")
			.onInterface("org.freedesktop.DBus.ObjectManager");
	} catch (const sdbus::Error &) {
	}
	return "ok";
}

std::string heardCount(State &state, const std::string &text, size_t wanted)
{
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	const auto count = [&] {
		return static_cast<size_t>(
			std::ranges::count_if(state.heard, [&](const std::string &line) {
				return line.find(text) != std::string::npos;
			}));
	};
	while (count() < wanted && std::chrono::steady_clock::now() < deadline) {
		while (state.watcher->processPendingRequest()) {
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return "ok " + std::to_string(count());
}

std::string heardUntil(State &state, const std::string &text)
{
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	const auto mentioned = [&] {
		return std::ranges::any_of(state.heard, [&](const std::string &line) {
			return line.find(text) != std::string::npos;
		});
	};
	while (!mentioned() && std::chrono::steady_clock::now() < deadline) {
		while (state.watcher->processPendingRequest()) {
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	std::string all;
	for (const auto &line : state.heard)
		all += (all.empty() ? "" : ";") + line;
	return "ok " + all;
}

std::optional<std::string> scopeArgument(const std::string &word)
{
	if (word == "-")
		return std::nullopt;
	return word == "@host" ? std::string() : word;
}

template <typename T>
std::string keep(Result<T> result, std::map<std::string, T> &kept, const std::string &key)
{
	if (!result)
		return errorLine(result.error());
	const std::string path = result->path();
	kept.insert_or_assign(key, std::move(*result));
	return "ok " + path;
}

std::string execute(State &state, const std::vector<std::string> &words)
{
	const std::string &verb = words.at(0);
	const auto arg = [&](size_t i) { return words.at(i); };
	const auto rest = [&](size_t from) {
		return std::vector<std::string>(
			words.begin() + static_cast<long>(std::min(from, words.size())),
			words.end());
	};
	if (verb == "connect") {
		auto client = Client::connect();
		if (!client)
			return errorLine(client.error());
		state.client.emplace(std::move(*client));
		return "ok " + state.client->uniqueName();
	}
	if (!state.client)
		return "error Failed not connected";
	Client &client = *state.client;
	if (verb == "create-sem")
		return keep(client.createSemaphore(arg(1), 1,
						   {.allowedApps = rest(3),
						    .scope = scopeArgument(arg(2))}),
			    state.semaphores, arg(1));
	if (verb == "create-persistent-sem") {
		auto semaphore = client.createSemaphore(arg(1), 1, {.persistent = true});
		if (!semaphore)
			return errorLine(semaphore.error());
		auto closed = semaphore->close();
		return closed ? "ok " + semaphore->path() : errorLine(closed.error());
	}
	if (verb == "open-sem")
		return keep(client.openSemaphore(arg(1), {.scope = scopeArgument(arg(2))}),
			    state.semaphores, arg(1));
	if (verb == "acquire-sem") {
		auto acquired =
			state.semaphores.at(arg(1)).acquire(1, std::chrono::microseconds(0));
		return acquired ? "ok" : errorLine(acquired.error());
	}
	if (verb == "create-shm") {
		auto sharedMemory = client.createSharedMemory(arg(1), std::stoull(arg(2)),
							      {.allowedApps = rest(4)});
		if (sharedMemory)
			std::memcpy(sharedMemory->data().data(), arg(3).data(),
				    std::min(arg(3).size(), sharedMemory->size()));
		return keep(std::move(sharedMemory), state.sharedMemories, arg(1));
	}
	if (verb == "open-shm")
		return keep(client.openSharedMemory(arg(1),
						    arg(3) == "rw" ? Access::ReadWrite
								   : Access::ReadOnly,
						    {.scope = scopeArgument(arg(2))}),
			    state.sharedMemories, arg(1));
	if (verb == "read-shm") {
		auto bytes = state.sharedMemories.at(arg(1)).constData();
		const size_t length = std::min<size_t>(std::stoul(arg(2)), bytes.size());
		return "ok " + std::string(reinterpret_cast<const char *>(bytes.data()), length);
	}
	if (verb == "write-shm") {
		auto bytes = state.sharedMemories.at(arg(1)).data();
		std::memcpy(bytes.data(), arg(2).data(), std::min(arg(2).size(), bytes.size()));
		return "ok";
	}
	if (verb == "seal-shm") {
		auto sealed = state.sharedMemories.at(arg(1)).seal();
		return sealed ? "ok" : errorLine(sealed.error());
	}
	if (verb == "create-lock")
		return keep(client.createLock(arg(1), {.scope = scopeArgument(arg(2))}),
			    state.locks, arg(1));
	if (verb == "open-lock")
		return keep(client.openLock(arg(1), {.scope = scopeArgument(arg(2))}), state.locks,
			    arg(1));
	if (verb == "lock") {
		auto guard = state.locks.at(arg(1)).tryAcquire(LockMode::Exclusive);
		if (!guard)
			return errorLine(guard.error());
		if (!*guard)
			return "error WouldBlock held by another";
		state.guards.push_back(std::move(**guard));
		return "ok";
	}
	if (verb == "listen")
		return startListening(state);
	if (verb == "listen-read") {
		if (!state.watcher)
			return "error Failed not listening";
		auto proxy = sdbus::createProxy(*state.watcher, "io.github.ipchub1", arg(1));
		try {
			std::map<std::string, sdbus::Variant> properties;
			proxy->callMethod("GetAll")
				.onInterface("org.freedesktop.DBus.Properties")
				.withArguments(arg(2))
				.storeResultsTo(properties);
			return "ok " + std::to_string(properties.size());
		} catch (const sdbus::Error &e) {
			return "error " + e.getName() + " " + e.getMessage();
		}
	}
	if (verb == "watch")
		return watch(state);
	if (verb == "heard-count")
		return heardCount(state, arg(1), std::stoul(arg(2)));
	if (verb == "heard-until")
		return heardUntil(state, arg(1));
	if (verb == "remove") {
		auto removed = client.remove(arg(1));
		return removed ? "ok" : errorLine(removed.error());
	}
	return "error InvalidArgument unknown command " + verb;
}

} // namespace

int main()
{
	State state;
	for (std::string line; std::getline(std::cin, line) && line != "quit";) {
		std::istringstream in(line);
		std::vector<std::string> words;
		for (std::string word; in >> word;)
			words.push_back(word);
		if (words.empty())
			continue;
		std::string answer;
		try {
			answer = execute(state, words);
		} catch (const std::exception &e) {
			answer = std::string("error Failed ") + e.what();
		}
		std::cout << answer << std::endl;
	}
	return 0;
}
