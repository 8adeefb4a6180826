// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/object_path.hpp"

#include <cstdlib>
#include <memory>
#include <new>

#include <systemd/sd-bus.h>

namespace ipchub::common {

namespace {

std::string encode(const std::string &prefix, std::string_view label)
{
	char *path = nullptr;
	if (sd_bus_path_encode(prefix.c_str(), std::string(label).c_str(), &path) < 0)
		throw std::bad_alloc();
	std::unique_ptr<char, decltype(&std::free)> owner(path, &std::free);
	return path;
}

} // namespace

std::string scopePath(ObjectKind kind, std::string_view scope)
{
	const std::string node =
		std::string(kManagerPath) + "/" + std::string(namesOf(kind).pathName);
	return scope.empty() ? node : encode(node, scope);
}

std::string objectPath(ObjectKind kind, std::string_view scope, std::string_view key)
{
	return encode(scopePath(kind, scope), key);
}

} // namespace ipchub::common
