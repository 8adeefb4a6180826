// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>
#include <string_view>

#include "common/object_kind.hpp"

namespace ipchub::common {

inline constexpr const char *kBusName = "io.github.ipchub1";
inline constexpr const char *kManagerPath = "/io/github/ipchub1";

// The object path of an object of kind: a host object (scope "") is
// /io/github/ipchub1/KIND/<key>, an app's /io/github/ipchub1/KIND/<app id>/<key>, each
// label escaped by sd_bus_path_encode, so every key maps to a valid, distinct path.
std::string objectPath(ObjectKind kind, std::string_view scope, std::string_view key);
// The node of a kind's objects in a scope: /io/github/ipchub1/KIND for the host's,
// /io/github/ipchub1/KIND/<app id> for an app's.
std::string scopePath(ObjectKind kind, std::string_view scope);

} // namespace ipchub::common
