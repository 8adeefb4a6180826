// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <sdbus-c++/Error.h>

#include "common/result.hpp"

namespace ipchub::bus {

// The one place where a core error becomes a D-Bus error.
sdbus::Error toDbusError(const Error &error);

// The value of a core result, or the D-Bus error that sdbus-c++ sends back as the
// method's error reply.
template <typename T>
T unwrap(Result<T> result)
{
	if (!result)
		throw toDbusError(result.error());
	if constexpr (!std::is_void_v<T>)
		return std::move(*result);
}

} // namespace ipchub::bus
