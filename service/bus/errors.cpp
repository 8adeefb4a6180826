// SPDX-License-Identifier: LGPL-2.1-or-later
#include "errors.hpp"

namespace ipchub::bus {

sdbus::Error toDbusError(const Error &error)
{
	return sdbus::Error(dbusErrorName(error.code), error.message);
}

} // namespace ipchub::bus
