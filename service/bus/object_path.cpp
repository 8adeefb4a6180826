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

std::string objectPath(std::string_view kind, const core::ObjectKey &id)
{
	std::string prefix = std::string(kManagerPath) + "/" + std::string(kind);
	if (!id.scope.empty())
		prefix = encode(prefix, id.scope);
	return encode(prefix, id.key);
}

} // namespace ipchub::bus
