#include "own_scope.hpp"

#include <fstream>
#include <string_view>

namespace ipchub::detail {

namespace {

std::string_view trim(std::string_view text)
{
	const auto first = text.find_first_not_of(" \t\r");
	if (first == std::string_view::npos)
		return {};
	const auto last = text.find_last_not_of(" \t\r");
	return text.substr(first, last - first + 1);
}

} // namespace

std::string ownScope()
{
	std::ifstream info("/.flatpak-info");
	bool inApplication = false;
	for (std::string text; std::getline(info, text);) {
		const std::string_view line = trim(text);
		if (line.empty() || line.front() == '#')
			continue;
		if (line.front() == '[') {
			inApplication = line == "[Application]";
			continue;
		}
		const auto equals = line.find('=');
		if (inApplication && equals != std::string_view::npos &&
		    trim(line.substr(0, equals)) == "name")
			return std::string(trim(line.substr(equals + 1)));
	}
	return {};
}

} // namespace ipchub::detail
