// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

namespace ipchub {

enum class LockMode {
	// Many holders at once (readers).
	Shared,
	// One holder alone (a writer).
	Exclusive,
};

} // namespace ipchub
