// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl: the shell's client of ipchubd. Picks the verb, parses its arguments,
// connects and runs it; an error is one line on stderr and exit status 1.

#include <algorithm>
#include <iostream>
#include <string_view>

#include "verb.hpp"

namespace {

using namespace ipchub;
using namespace ipchub::ctl;

std::vector<Verb> allVerbs()
{
	std::vector<Verb> verbs;
	for (auto group : {objectVerbs, semaphoreVerbs, sharedMemoryVerbs, lockVerbs})
		for (auto &verb : group())
			verbs.push_back(std::move(verb));
	return verbs;
}

void printUsage(const std::vector<Verb> &verbs, std::string_view group = {})
{
	std::cout << "Usage: ipchubctl VERB [ARGS...]\n\n"
		     "Named semaphores, shared memory and locks of ipchubd (io.github.ipchub1)\n"
		     "on the session bus.\n\nVerbs:\n";
	for (const auto &verb : verbs)
		if (group.empty() || verb.name.starts_with(group))
			std::cout << "  ipchubctl " << verb.name << " " << verb.synopsis
				  << "\n      " << verb.summary << "\n";
	std::cout << R"(
Every verb takes --scope APP_ID to name an object of another scope (a Flatpak
app's; "" is the host's) and --help. The exit status is 0 on success, the
command's own for "sem run" and "lock", and 1 with one line on standard error
otherwise. See ipchubctl(1).
)";
}

void printVerbHelp(const Verb &verb)
{
	std::cout << "Usage: ipchubctl " << verb.name << " " << verb.synopsis << "\n\n"
		  << verb.help
		  << "\n\n--scope APP_ID names an object of another scope (a Flatpak "
		     "app's; \"\" is the host's).\n";
}

int failWith(std::string message)
{
	// One line, whatever the bus said.
	std::ranges::replace(message, '\n', ' ');
	std::cerr << "ipchubctl: " << message << std::endl;
	return 1;
}

bool asksForHelp(std::span<char *const> args)
{
	for (std::string_view arg : args) {
		if (arg == "--")
			return false;
		if (arg == "--help" || arg == "-h")
			return true;
	}
	return false;
}

// The verb named by the first one or two words of args, and how many words it took.
std::pair<const Verb *, size_t> findVerb(const std::vector<Verb> &verbs,
					 std::span<char *const> args)
{
	for (const auto &verb : verbs) {
		const size_t space = verb.name.find(' ');
		if (space == std::string_view::npos) {
			if (verb.name == args[0])
				return {&verb, 1};
		} else if (args.size() > 1 && verb.name.substr(0, space) == args[0] &&
			   verb.name.substr(space + 1) == args[1]) {
			return {&verb, 2};
		}
	}
	return {nullptr, 0};
}

} // namespace

int main(int argc, char **argv)
{
	const std::vector<Verb> verbs = allVerbs();
	const std::span<char *const> args(argv + 1, static_cast<size_t>(argc > 0 ? argc - 1 : 0));
	if (args.empty())
		return failWith("no verb given; see ipchubctl --help");
	const std::string_view first = args[0];
	if (first == "--help" || first == "-h" || first == "help") {
		printUsage(verbs);
		return 0;
	}
	if (first == "--version") {
		std::cout << "ipchubctl " << IPCHUB_VERSION << "\n";
		return 0;
	}

	const auto [verb, words] = findVerb(verbs, args);
	if (!verb) {
		const bool isGroup = first == "sem" || first == "shm";
		if (isGroup && args.size() > 1 && asksForHelp(args.subspan(1, 1))) {
			printUsage(verbs, first);
			return 0;
		}
		if (isGroup && args.size() == 1)
			return failWith(std::string(first) + " needs a verb; see ipchubctl " +
					std::string(first) + " --help");
		const std::string name = isGroup ? std::string(first) + " " + args[1]
						 : std::string(first);
		return failWith("unknown verb \"" + name + "\"; see ipchubctl --help");
	}
	const auto rest = args.subspan(words);
	if (asksForHelp(rest)) {
		printVerbHelp(*verb);
		return 0;
	}
	auto parsed = parseArguments(*verb, rest);
	if (!parsed)
		return failWith(parsed.error().message);
	auto client = Client::connect();
	if (!client)
		return failWith(client.error().message);
	auto status = verb->run(*client, *parsed);
	if (!status)
		return failWith(status.error().message);
	return *status;
}
