// SPDX-License-Identifier: LGPL-2.1-or-later
#include "verb.hpp"

#include <algorithm>

#include "values.hpp"

namespace ipchub::ctl {

bool Arguments::has(std::string_view name) const
{
	return std::ranges::any_of(options,
				   [&](const auto &option) { return option.first == name; });
}

std::optional<std::string> Arguments::value(std::string_view name) const
{
	// The last one wins, as with most tools.
	std::optional<std::string> found;
	for (const auto &[option, value] : options)
		if (option == name)
			found = value;
	return found;
}

OpenOptions Arguments::openOptions() const
{
	return {.scope = value(kScopeOption.name)};
}

Result<std::chrono::microseconds> Arguments::timeout() const
{
	if (auto text = value("--timeout"))
		return parseSeconds(*text, "--timeout");
	return kForever;
}

Result<Arguments> parseArguments(const Verb &verb, std::span<char *const> args)
{
	Arguments parsed;
	bool sawSeparator = false;
	for (size_t i = 0; i < args.size(); ++i) {
		const std::string_view arg = args[i];
		if (arg == "--") {
			sawSeparator = true;
			parsed.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
					      args.end());
			break;
		}
		if (!arg.starts_with("--") || arg == "-") {
			parsed.positional.emplace_back(arg);
			continue;
		}
		const size_t equals = arg.find('=');
		const std::string_view name = arg.substr(0, equals);
		const auto spec = std::ranges::find(verb.options, name, &OptionSpec::name);
		if (spec == verb.options.end())
			return fail(ErrorCode::InvalidArgument,
				    "unknown option " + std::string(name) + " of " +
					    std::string(verb.name) + "; see --help");
		if (!spec->takesValue) {
			if (equals != std::string_view::npos)
				return fail(ErrorCode::InvalidArgument,
					    "option " + std::string(name) + " takes no value");
			parsed.options.emplace_back(name, "");
		} else if (equals != std::string_view::npos) {
			parsed.options.emplace_back(name, arg.substr(equals + 1));
		} else if (i + 1 < args.size()) {
			parsed.options.emplace_back(name, args[++i]);
		} else {
			return fail(ErrorCode::InvalidArgument,
				    "option " + std::string(name) + " needs a value");
		}
	}

	const std::string usage =
		"; usage: ipchubctl " + std::string(verb.name) + " " + std::string(verb.synopsis);
	if (parsed.positional.size() < verb.minPositional)
		return fail(ErrorCode::InvalidArgument, "too few arguments" + usage);
	if (parsed.positional.size() > verb.maxPositional)
		return fail(ErrorCode::InvalidArgument,
			    "unexpected argument \"" + parsed.positional[verb.maxPositional] +
				    "\"" + usage);
	if (verb.takesCommand && (!sawSeparator || parsed.command.empty()))
		return fail(ErrorCode::InvalidArgument, "no command after --" + usage);
	if (!verb.takesCommand && sawSeparator)
		return fail(ErrorCode::InvalidArgument,
			    std::string(verb.name) + " runs no command" + usage);
	return parsed;
}

} // namespace ipchub::ctl
