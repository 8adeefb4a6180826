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

// Told of every change of an object's state that a snapshot keeps. tellsClient: a
// client is told of the change right after (its grant or its release), so the change
// must be persisted first; otherwise it may be persisted later.
using StateHandler = std::function<void(bool tellsClient)>;

// Told of every client that asks an object for something it may keep (units, a
// grant, a wait, an attachment), so a departure visits only the objects it touched.
using TouchHandler = std::function<void(const ClientId &)>;

} // namespace ipchub::core
