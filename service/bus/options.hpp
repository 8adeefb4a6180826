// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sdbus-c++/Types.h>

#include "common/result.hpp"

namespace ipchub::bus {

using OptionMap = std::map<std::string, sdbus::Variant>;

struct OptionSpec {
	std::string_view name;
	std::string_view signature;
};

// The a{sv} options of one call, checked against the options that call knows:
// an unknown name or a value of the wrong type is InvalidArgument naming the option.
class Options
{
public:
	static Result<Options> parse(const OptionMap &options,
				     std::initializer_list<OptionSpec> known);

	template <typename T>
	std::optional<T> get(std::string_view name) const
	{
		auto it = options_->find(std::string(name));
		if (it == options_->end())
			return std::nullopt;
		return it->second.get<T>();
	}

	template <typename T>
	T get(std::string_view name, T fallback) const
	{
		return get<T>(name).value_or(std::move(fallback));
	}

private:
	explicit Options(const OptionMap &options) : options_(&options) {}

	const OptionMap *options_;
};

} // namespace ipchub::bus
