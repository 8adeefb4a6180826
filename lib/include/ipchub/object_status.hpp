// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ipchub/object_kind.hpp>

namespace ipchub {

// One property of an object as text: numbers in decimal, booleans "true"/"false",
// strings verbatim, arrays of structs as "(field,field)" items joined by commas (""
// when empty). Enough to show and compare, not to parse back.
struct Property {
	std::string name;
	std::string value;
};

// What one object is and its properties now, as the service reports them.
struct ObjectStatus {
	ObjectKind kind = ObjectKind::Semaphore;
	std::string path;
	std::string key;
	// "" for the host scope, else an app id.
	std::string scope;
	// Every property of the object's interface, sorted by name.
	std::vector<Property> properties;

	// The value of the property called name, or nullptr.
	const std::string *property(std::string_view name) const;
};

} // namespace ipchub
