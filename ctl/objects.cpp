// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl list|status|remove|watch: what ipchubd holds, and how it changes.

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>
#include <sys/signalfd.h>
#include <tuple>

#include "common/unique_fd.hpp"

#include "values.hpp"
#include "verb.hpp"

namespace ipchub::ctl {

namespace {

// The properties list shows: the object's state at a glance.
std::vector<std::string_view> stateProperties(ObjectKind kind)
{
	switch (kind) {
	case ObjectKind::Semaphore:
		return {"Value", "Max", "Waiters"};
	case ObjectKind::SharedMemory:
		return {"Size", "Attachments", "Sealed"};
	case ObjectKind::Lock:
		return {"Mode", "Waiters"};
	}
	return {};
}

std::string assignment(std::string_view name, const std::string &value)
{
	return std::string(name) + "=" + (value.empty() ? "" : quote(value));
}

// "semaphore jobs -": the kind, key and scope columns of list and watch.
std::string identity(const ObjectStatus &object)
{
	return std::string(objectKindName(object.kind)) + " " + quote(object.key) + " " +
	       scopeColumn(object.scope);
}

Result<ObjectKind> kindArgument(const std::string &text)
{
	auto kind = objectKindFromName(text);
	if (!kind)
		return fail(ErrorCode::InvalidArgument,
			    "unknown kind \"" + text + "\"; semaphore, shm or lock");
	return *kind;
}

Result<int> list(Client &client, const Arguments &args)
{
	auto objects = client.listObjects();
	if (!objects)
		return errorOf(objects);
	std::ranges::sort(*objects, {}, [](const ObjectStatus &object) {
		return std::tie(object.kind, object.scope, object.key);
	});
	const auto scope = args.value(kScopeOption.name);
	for (const auto &object : *objects) {
		if (scope && object.scope != *scope)
			continue;
		std::string line = identity(object);
		for (const auto name : stateProperties(object.kind))
			if (const std::string *value = object.property(name))
				line += " " + assignment(name, *value);
		std::cout << line << '\n';
	}
	return 0;
}

namespace {

// The object that KIND KEY (the first two arguments) names.
Result<ObjectStatus> namedObject(Client &client, const Arguments &args)
{
	auto kind = kindArgument(args.positional[0]);
	if (!kind)
		return errorOf(kind);
	return client.status(*kind, args.positional[1], args.openOptions());
}

} // namespace

Result<int> status(Client &client, const Arguments &args)
{
	auto object = namedObject(client, args);
	if (!object)
		return errorOf(object);
	std::cout << assignment("Kind", std::string(objectKindName(object->kind))) << '\n'
		  << assignment("Path", object->path) << '\n';
	for (const auto &[name, value] : object->properties)
		std::cout << assignment(name, value) << '\n';
	return 0;
}

Result<int> remove(Client &client, const Arguments &args)
{
	auto object = namedObject(client, args);
	if (!object)
		return errorOf(object);
	if (auto removed = client.remove(object->path); !removed)
		return errorOf(removed);
	return 0;
}

void printEvent(const ObjectEvent &event, const std::optional<std::string> &scope)
{
	if (scope && event.object.scope != *scope)
		return;
	static constexpr const char *kTypes[] = {"added", "removed", "changed"};
	std::string line =
		std::string(kTypes[static_cast<int>(event.type)]) + " " + identity(event.object);
	for (const auto &[name, value] : event.object.properties)
		line += " " + assignment(name, value);
	// Flushed line by line: watch is read by other programs through pipes.
	std::cout << line << std::endl;
}

Result<int> watch(Client &client, const Arguments &args)
{
	// SIGINT and SIGTERM end the watch cleanly, through a descriptor run() polls.
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, nullptr);
	const UniqueFd signals(signalfd(-1, &stop, SFD_CLOEXEC));
	if (!signals)
		return fail(ErrorCode::Failed,
			    std::string("cannot watch for signals: ") + std::strerror(errno));
	auto subscription =
		client.watch([scope = args.value(kScopeOption.name)](const ObjectEvent &event) {
			printEvent(event, scope);
		});
	if (!subscription)
		return errorOf(subscription);
	if (auto ran = subscription->run(signals.get()); !ran)
		return errorOf(ran);
	return 0;
}

} // namespace

// The verb tables of objects.cpp, sem.cpp, shm.cpp and lock.cpp parallel each other on
// purpose: each lists its own verbs, with their own help, options and runner.
std::vector<Verb> objectVerbs()
{
	return {
		{
			.name = "list",
			.synopsis = "[--scope APP_ID]",
			.summary = "list the objects the caller may see",
			.help = R"(Prints one line per object: its kind (semaphore, shm or lock), its key, its
scope ("-" for the host's, else the app id) and its state: Value, Max and Waiters
of a semaphore; Size, Attachments and Sealed of a shared-memory object; Mode and
Waiters of a lock. Keys and values that are not plain words are printed in double
quotes with C escapes, so each object is one line. --scope APP_ID lists only the
objects of that scope ("" for the host's).)",
			.options = {kScopeOption},
			.minPositional = 0,
			.maxPositional = 0,
			.takesCommand = false,
			.run = list,
		},
		{
			.name = "status",
			.synopsis = "semaphore|shm|lock KEY [--scope APP_ID]",
			.summary = "show one object's properties",
			.help = R"(Prints the object's kind, its D-Bus path and each of its properties as
NAME=VALUE lines, quoted as list does. Holders are (field,field) items joined by
commas.)",
			.options = {kScopeOption},
			.minPositional = 2,
			.maxPositional = 2,
			.takesCommand = false,
			.run = status,
		},
		{
			.name = "remove",
			.synopsis = "semaphore|shm|lock KEY [--scope APP_ID]",
			.summary = "end an object now, persistent or not",
			.help = R"(Removes the object at once (Manager.Remove): its holders and waiters lose it
and its waits fail with Cancelled. This is how a persistent object made by
sem create or shm create goes.)",
			.options = {kScopeOption},
			.minPositional = 2,
			.maxPositional = 2,
			.takesCommand = false,
			.run = remove,
		},
		{
			.name = "watch",
			.synopsis = "[--scope APP_ID]",
			.summary = "print changes as they happen",
			.help = R"(Prints one line per change until SIGINT or SIGTERM (then exits 0):
  added KIND KEY SCOPE NAME=VALUE...    an object appeared, with all its properties
  changed KIND KEY SCOPE NAME=VALUE...  properties changed, with their new values
  removed KIND KEY SCOPE                an object went
KIND, KEY and SCOPE are as list prints them. Every change after the watch has
started is printed, in order. --scope APP_ID prints only the changes of that
scope ("" for the host's).)",
			.options = {kScopeOption},
			.minPositional = 0,
			.maxPositional = 0,
			.takesCommand = false,
			.run = watch,
		},
	};
}

} // namespace ipchub::ctl
