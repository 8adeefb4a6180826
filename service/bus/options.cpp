// SPDX-License-Identifier: LGPL-2.1-or-later
#include "options.hpp"

namespace ipchub::bus {

Result<Options> Options::parse(const OptionMap &options, std::initializer_list<OptionSpec> known)
{
	for (const auto &[name, value] : options) {
		const OptionSpec *spec = nullptr;
		for (const auto &candidate : known)
			if (candidate.name == name)
				spec = &candidate;
		if (!spec) {
			std::string names;
			for (const auto &candidate : known)
				names += (names.empty() ? "" : ", ") + std::string(candidate.name);
			return fail(ErrorCode::InvalidArgument,
				    "unknown option \"" + name + "\"; this call takes: " +
					    (names.empty() ? "none" : names));
		}
		const std::string type = value.peekValueType();
		if (type != spec->signature)
			return fail(ErrorCode::InvalidArgument,
				    "option " + name + " is of type " + type + "; it must be " +
					    std::string(spec->signature));
	}
	return Options(options);
}

} // namespace ipchub::bus
