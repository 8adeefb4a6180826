// SPDX-License-Identifier: LGPL-2.1-or-later
#include "object_properties.hpp"

#include "common/lock_mode.hpp"
#include "proxies.hpp"

namespace ipchub {

namespace {

// The interfaces that common/object_kind.hpp names are those of the XML.
static_assert(common::namesOf(ObjectKind::Semaphore).interface ==
	      std::string_view(detail::SemaphoreProxy::INTERFACE_NAME));
static_assert(common::namesOf(ObjectKind::SharedMemory).interface ==
	      std::string_view(detail::SharedMemoryProxy::INTERFACE_NAME));
static_assert(common::namesOf(ObjectKind::Lock).interface ==
	      std::string_view(detail::LockProxy::INTERFACE_NAME));

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

const std::string *ObjectStatus::property(std::string_view name) const
{
	for (const auto &entry : properties)
		if (entry.name == name)
			return &entry.value;
	return nullptr;
}

namespace detail {

std::string describe(ObjectKind kind, const std::string &scope, std::string_view key)
{
	std::string text =
		std::string(common::namesOf(kind).noun) + " \"" + std::string(key) + "\"";
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

std::vector<LockHolder> lockHolders(const LockHolderStructs &holders)
{
	std::vector<LockHolder> result;
	for (const auto &holder : holders)
		result.push_back({
			.uniqueName = holder.get<0>(),
			.mode = common::parseLockMode(holder.get<1>()).value_or(LockMode::Shared),
			.pid = static_cast<pid_t>(holder.get<2>()),
			.appId = holder.get<3>(),
			.token = holder.get<4>(),
			.acquiredAt = std::chrono::system_clock::time_point(
				std::chrono::microseconds(holder.get<5>())),
		});
	return result;
}

} // namespace detail

} // namespace ipchub
