// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Command-line values (counts, seconds, sizes) and the text ipchubctl prints.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <ipchub/result.hpp>

namespace ipchub::ctl {

// A decimal count from 0 to UINT32_MAX; what names the argument in errors.
Result<uint32_t> parseCount(std::string_view text, std::string_view what);
// Seconds, fractions allowed ("0.5"), as a timeout: 0 means try once.
Result<std::chrono::microseconds> parseSeconds(std::string_view text, std::string_view what);
// Bytes, with an optional suffix K, M or G (powers of 1024).
Result<uint64_t> parseSize(std::string_view text, std::string_view what);

// text as one shell-friendly word: as it is when it is plain, else in double quotes
// with C escapes (\n, \t, \", \\, \xHH), so one object is always one line.
std::string quote(std::string_view text);
// A scope in a column: "-" for the host scope, else the app id quoted.
std::string scopeColumn(std::string_view scope);

} // namespace ipchub::ctl
