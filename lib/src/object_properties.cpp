#include "object_properties.hpp"

#include <array>
#include <cstdlib>
#include <memory>
#include <new>

#include <systemd/sd-bus.h>

#include "proxies.hpp"

namespace ipchub {

namespace {

struct KindName {
	ObjectKind kind;
	std::string_view name;
	const char *interface;
	// As the service's messages call the kind.
	const char *noun;
};

const std::array kKinds{
	KindName{ObjectKind::Semaphore, "semaphore", detail::SemaphoreProxy::INTERFACE_NAME,
		 "semaphore"},
	KindName{ObjectKind::SharedMemory, "shm", detail::SharedMemoryProxy::INTERFACE_NAME,
		 "shared memory"},
	KindName{ObjectKind::Lock, "lock", detail::LockProxy::INTERFACE_NAME, "lock"},
};

std::string pathEncode(const std::string &prefix, const std::string &label)
{
	char *path = nullptr;
	if (sd_bus_path_encode(prefix.c_str(), label.c_str(), &path) < 0)
		throw std::bad_alloc();
	std::unique_ptr<char, decltype(&std::free)> owner(path, &std::free);
	return path;
}

const KindName &entryOf(ObjectKind kind)
{
	for (const auto &entry : kKinds)
		if (entry.kind == kind)
			return entry;
	return kKinds[0];
}

// The fields of one struct joined by commas, in parentheses.
template <typename... Fields>
std::string structText(const sdbus::Struct<Fields...> &fields)
{
	std::string text = "(";
	std::apply(
		[&](const auto &...field) {
			bool first = true;
			auto append = [&](const auto &value) {
				if (!first)
					text += ',';
				first = false;
				if constexpr (std::is_convertible_v<decltype(value), std::string>)
					text += value;
				else
					text += std::to_string(value);
			};
			(append(field), ...);
		},
		static_cast<const std::tuple<Fields...> &>(fields));
	return text + ")";
}

template <typename... Fields>
std::string arrayText(const sdbus::Variant &value)
{
	std::string text;
	for (const auto &item : value.get<std::vector<sdbus::Struct<Fields...>>>()) {
		if (!text.empty())
			text += ',';
		text += structText(item);
	}
	return text;
}

} // namespace

std::string_view objectKindName(ObjectKind kind)
{
	return entryOf(kind).name;
}

std::optional<ObjectKind> objectKindFromName(std::string_view name)
{
	if (name == "sem")
		return ObjectKind::Semaphore;
	for (const auto &entry : kKinds)
		if (entry.name == name)
			return entry.kind;
	return std::nullopt;
}

const std::string *ObjectStatus::property(std::string_view name) const
{
	for (const auto &entry : properties)
		if (entry.name == name)
			return &entry.value;
	return nullptr;
}

namespace detail {

const char *interfaceOf(ObjectKind kind)
{
	return entryOf(kind).interface;
}

std::string objectPathOf(ObjectKind kind, const std::string &scope, std::string_view key)
{
	std::string node = std::string(kManagerPath) + "/" + std::string(entryOf(kind).name);
	if (!scope.empty())
		node = pathEncode(node, scope);
	return pathEncode(node, std::string(key));
}

std::string describe(ObjectKind kind, const std::string &scope, std::string_view key)
{
	std::string text = std::string(entryOf(kind).noun) + " \"" + std::string(key) + "\"";
	if (!scope.empty())
		text += " in scope " + scope;
	return text;
}

bool isUnknownObject(const sdbus::Error &error)
{
	// No object at the path at all, or a node that only holds other objects (a host
	// key that is an app id names that app's scope node).
	const std::string &name = error.getName();
	return name == "org.freedesktop.DBus.Error.UnknownObject" ||
	       name == "org.freedesktop.DBus.Error.UnknownInterface";
}

std::optional<ObjectKind> kindOfInterface(const std::string &interface)
{
	for (const auto &entry : kKinds)
		if (interface == entry.interface)
			return entry.kind;
	return std::nullopt;
}

std::string propertyText(const sdbus::Variant &value)
{
	const std::string type = value.peekValueType();
	if (type == "s" || type == "o")
		return value.get<std::string>();
	if (type == "b")
		return value.get<bool>() ? "true" : "false";
	if (type == "u")
		return std::to_string(value.get<uint32_t>());
	if (type == "t")
		return std::to_string(value.get<uint64_t>());
	if (type == "a(su)")
		return arrayText<std::string, uint32_t>(value);
	if (type == "a(ssustt)")
		return arrayText<std::string, std::string, uint32_t, std::string, uint64_t,
				 uint64_t>(value);
	// A property this library does not know yet: its type, not its value.
	return "<" + type + ">";
}

ObjectStatus objectStatus(ObjectKind kind, std::string path, const PropertyMap &properties)
{
	ObjectStatus status{
		.kind = kind, .path = std::move(path), .key = {}, .scope = {}, .properties = {}};
	for (const auto &[name, value] : properties) {
		std::string text = propertyText(value);
		if (name == "Key")
			status.key = text;
		else if (name == "Scope")
			status.scope = text;
		status.properties.push_back({name, std::move(text)});
	}
	return status;
}

std::optional<ObjectStatus> objectStatus(std::string path, const InterfaceMap &interfaces)
{
	for (const auto &[interface, properties] : interfaces)
		if (auto kind = kindOfInterface(interface))
			return objectStatus(*kind, std::move(path), properties);
	return std::nullopt;
}

} // namespace detail

} // namespace ipchub
