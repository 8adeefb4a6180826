// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_recovery_switch.hpp"

#include <cstdlib>
#include <cstring>

namespace ipchub::core {

bool fastRecoveryDisabled()
{
	// Read once: the switch is the process's from its start.
	static const bool disabled = [] {
		const char *value = std::getenv("IPCHUB_TEST_NO_FAST_RECOVERY");
		return value && *value && std::strcmp(value, "0") != 0;
	}();
	return disabled;
}

} // namespace ipchub::core
