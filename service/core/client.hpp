// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <string>

#include "common/result.hpp"

namespace ipchub::core {

// A client is a bus connection, named by its unique name (":1.42"). The core knows
// nothing more of the bus than this string.
using ClientId = std::string;

// Called exactly once for every queued wait: with success when it is granted, or with
// the error that ended it (Timeout, Cancelled, ...).
using Completion = std::function<void(Result<void>)>;

} // namespace ipchub::core
