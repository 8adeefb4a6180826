// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl lock: flock(1) with an ipchub lock.

#include "child.hpp"
#include "values.hpp"
#include "verb.hpp"

namespace ipchub::ctl {

namespace {

Result<int> lock(Client &client, const Arguments &args)
{
	const auto timeout = args.timeout();
	if (!timeout)
		return errorOf(timeout);
	// As flock(1) creates the lock file: the lock exists while someone uses it.
	auto lock = client.createLock(args.positional[0], {.openExisting = true,
							   .scope = args.value(kScopeOption.name)});
	if (!lock)
		return errorOf(lock);
	const LockMode mode = args.has("--shared") ? LockMode::Shared : LockMode::Exclusive;
	auto guard = lock->acquire(mode, *timeout);
	if (!guard)
		return errorOf(guard);
	auto status = runCommand(args.command);
	if (auto released = guard->release(); !released)
		return errorOf(released);
	return status;
}

} // namespace

// Parallels the other verb tables on purpose (see objectVerbs in objects.cpp).
std::vector<Verb> lockVerbs()
{
	return {{
		.name = "lock",
		.synopsis = "KEY [--shared] [--timeout SEC] [--scope APP_ID] -- CMD...",
		.summary = "run CMD holding a lock, like flock(1)",
		.help = R"(Takes the lock KEY, exclusive or with --shared shared with other --shared
holders, runs CMD, and releases the lock when CMD ends: holders run strictly one
after another. The lock is created if it does not exist and goes when nobody uses
it any more. Waiters are served first come, first served, so a waiting exclusive
holder is not starved by shared ones.

--timeout SEC waits at most SEC seconds (fractions allowed; 0 tries once, like
flock -n); past it, ipchubctl exits 1 without running CMD. Default: no limit.

The exit status is CMD's (128 + the signal if a signal ended it; 127 if CMD is
not found). While CMD runs, SIGTERM and SIGHUP are passed on to it and SIGINT and
SIGQUIT are ignored by ipchubctl; if ipchubctl itself dies, ipchubd releases the
lock as its connection leaves the bus.)",
		.options = {{"--shared", false}, {"--timeout", true}, kScopeOption},
		.minPositional = 1,
		.maxPositional = 1,
		.takesCommand = true,
		.run = lock,
	}};
}

} // namespace ipchub::ctl
