// SPDX-License-Identifier: LGPL-2.1-or-later
#include "values.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ipchub::ctl {

namespace {

Result<uint64_t> parseNumber(std::string_view text, std::string_view what, uint64_t max)
{
	uint64_t value = 0;
	const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
	if (text.empty() || error == std::errc::invalid_argument ||
	    end != text.data() + text.size())
		return fail(ErrorCode::InvalidArgument,
			    std::string(what) + " \"" + std::string(text) + "\" is not a number");
	if (error == std::errc::result_out_of_range || value > max)
		return fail(ErrorCode::InvalidArgument,
			    std::string(what) + " " + std::string(text) +
				    " is too large; at most " + std::to_string(max));
	return value;
}

bool isPlain(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '"' && c != '\\' && c != '\'';
}

} // namespace

Result<uint32_t> parseCount(std::string_view text, std::string_view what)
{
	auto value = parseNumber(text, what, UINT32_MAX);
	if (!value)
		return errorOf(value);
	return static_cast<uint32_t>(*value);
}

Result<std::chrono::microseconds> parseSeconds(std::string_view text, std::string_view what)
{
	double seconds = 0;
	const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
	if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
	    !std::isfinite(seconds) || seconds < 0)
		return fail(ErrorCode::InvalidArgument,
			    std::string(what) + " \"" + std::string(text) +
				    "\" is not a number of seconds (0 or more)");
	// Anything past a year is as good as no limit, and stays clear of overflow.
	constexpr double kYear = 365.0 * 24 * 3600;
	if (seconds > kYear)
		return std::chrono::microseconds::max();
	return std::chrono::microseconds(static_cast<int64_t>(std::llround(seconds * 1e6)));
}

Result<uint64_t> parseSize(std::string_view text, std::string_view what)
{
	int shift = 0;
	if (!text.empty()) {
		switch (text.back()) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		default:
			break;
		}
	}
	if (shift != 0)
		text.remove_suffix(1);
	auto value = parseNumber(text, what, std::numeric_limits<uint64_t>::max() >> shift);
	if (!value)
		return value;
	return *value << shift;
}

std::string quote(std::string_view text)
{
	bool plain = !text.empty();
	for (unsigned char c : text)
		plain = plain && isPlain(c);
	if (plain)
		return std::string(text);
	std::string quoted = "\"";
	for (unsigned char c : text) {
		switch (c) {
		case '\n':
			quoted += "\\n";
			break;
		case '\t':
			quoted += "\\t";
			break;
		case '"':
			quoted += "\\\"";
			break;
		case '\\':
			quoted += "\\\\";
			break;
		default:
			if (c < ' ' || c == 0x7f) {
				char escaped[5];
				std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
				quoted += escaped;
			} else {
				quoted += static_cast<char>(c);
			}
		}
	}
	return quoted + "\"";
}

std::string scopeColumn(std::string_view scope)
{
	return scope.empty() ? "-" : quote(scope);
}

} // namespace ipchub::ctl
