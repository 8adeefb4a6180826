// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl sem create|run|post: named semaphores from the shell.

#include "child.hpp"
#include "values.hpp"
#include "verb.hpp"

namespace ipchub::ctl {

namespace {

Result<int> create(Client &client, const Arguments &args)
{
	SemaphoreOptions options{.persistent = true, .scope = args.value(kScopeOption.name)};
	uint32_t initial = 1;
	if (auto text = args.value("--initial")) {
		auto value = parseCount(*text, "--initial");
		if (!value)
			return errorOf(value);
		initial = *value;
	}
	if (auto text = args.value("--max")) {
		auto value = parseCount(*text, "--max");
		if (!value)
			return errorOf(value);
		if (*value == 0)
			return fail(ErrorCode::InvalidArgument, "--max must be 1 or more");
		options.max = *value;
	}
	options.returnOnExit = !args.has("--no-return-on-exit");
	auto semaphore = client.createSemaphore(args.positional[0], initial, options);
	if (!semaphore)
		return errorOf(semaphore);
	return 0;
}

Result<int> run(Client &client, const Arguments &args)
{
	uint32_t count = 1;
	if (auto text = args.value("--count")) {
		auto value = parseCount(*text, "--count");
		if (!value)
			return errorOf(value);
		count = *value;
	}
	const auto timeout = args.timeout();
	if (!timeout)
		return errorOf(timeout);
	auto semaphore = client.openSemaphore(args.positional[0], args.openOptions());
	if (!semaphore)
		return errorOf(semaphore);
	if (auto acquired = semaphore->acquire(count, *timeout); !acquired)
		return errorOf(acquired);
	auto status = runCommand(args.command);
	// Given back even when the command failed; Close would not give back the units
	// of a semaphore made with return_on_exit = false.
	if (auto released = semaphore->release(count); !released)
		return errorOf(released);
	return status;
}

Result<int> post(Client &client, const Arguments &args)
{
	uint32_t count = 1;
	if (args.positional.size() > 1) {
		auto value = parseCount(args.positional[1], "N");
		if (!value)
			return errorOf(value);
		count = *value;
	}
	auto semaphore = client.openSemaphore(args.positional[0], args.openOptions());
	if (!semaphore)
		return errorOf(semaphore);
	if (auto released = semaphore->release(count); !released)
		return errorOf(released);
	return 0;
}

} // namespace

// Parallels the other verb tables on purpose (see objectVerbs in objects.cpp).
std::vector<Verb> semaphoreVerbs()
{
	return {
		{
			.name = "sem create",
			.synopsis =
				"KEY [--initial N] [--max N] [--persistent] [--no-return-on-exit] "
				"[--scope APP_ID]",
			.summary = "create a semaphore",
			.help = R"(Creates the semaphore KEY with N free units (--initial, default 1) and at
most --max units (default 4294967295). It fails if KEY exists already.

The semaphore is persistent: it stays after ipchubctl exits (a semaphore
referenced by nobody would vanish at once) until it is removed with
"ipchubctl remove semaphore KEY". --persistent says so explicitly.

--no-return-on-exit makes a plain counter, like a POSIX semaphore: units a
process acquires are consumed, not given back when it exits. Use it for a
semaphore that one process posts to and another takes from: with the default,
the taker's units come back at its exit on top of the poster's posts.)",
			.options = {{"--initial", true},
				    {"--max", true},
				    {"--persistent", false},
				    {"--no-return-on-exit", false},
				    kScopeOption},
			.minPositional = 1,
			.maxPositional = 1,
			.takesCommand = false,
			.run = create,
		},
		{
			.name = "sem run",
			.synopsis = "KEY [--count N] [--timeout SEC] [--scope APP_ID] -- CMD...",
			.summary = "run CMD holding N units of a semaphore",
			.help = R"(Takes N units (--count, default 1) of the existing semaphore KEY, waiting
behind earlier waiters up to SEC seconds (--timeout; fractions allowed; 0 tries
once; default: no limit), runs CMD, and gives the units back when CMD ends.

The exit status is CMD's (128 + the signal if a signal ended it; 127 if CMD is
not found). While CMD runs, SIGTERM and SIGHUP are passed on to it and SIGINT and
SIGQUIT are ignored by ipchubctl; if ipchubctl itself dies, ipchubd gives the
units back as its connection leaves the bus.)",
			.options = {{"--count", true}, {"--timeout", true}, kScopeOption},
			.minPositional = 1,
			.maxPositional = 1,
			.takesCommand = true,
			.run = run,
		},
		{
			.name = "sem post",
			.synopsis = "KEY [N] [--scope APP_ID]",
			.summary = "add N units to a semaphore",
			.help = R"(Adds N units (default 1) to the existing semaphore KEY, as sem_post(3) does:
the next waiters are served. Going past the semaphore's maximum fails.)",
			.options = {kScopeOption},
			.minPositional = 1,
			.maxPositional = 2,
			.takesCommand = false,
			.run = post,
		},
	};
}

} // namespace ipchub::ctl
