#include "object_path.hpp"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <systemd/sd-bus.h>

namespace ipchub::bus {

namespace {

std::string encode(const std::string &prefix, const std::string &label)
{
	char *path = nullptr;
	if (sd_bus_path_encode(prefix.c_str(), label.c_str(), &path) < 0)
		throw std::bad_alloc();
	std::unique_ptr<char, decltype(&std::free)> owner(path, &std::free);
	return path;
}

} // namespace

std::string scopePath(std::string_view kind, const std::string &scope)
{
	const std::string node = std::string(kManagerPath) + "/" + std::string(kind);
	return scope.empty() ? node : encode(node, scope);
}

std::string objectPath(std::string_view kind, const core::ObjectKey &id)
{
	return encode(scopePath(kind, id.scope), id.key);
}

} // namespace ipchub::bus
