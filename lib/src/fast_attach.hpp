// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// AttachFast on every object the library creates or opens that may be fast: a fast
// object's operations then work on its page; an object that is not fast, or whose page
// the caller may not have (an app let in by allowed_apps), stays on the bus path.

#include <memory>

#include "ipchub/result.hpp"
#include "proxies.hpp"

namespace ipchub::detail {

// Sets proxy->fast when the object is fast. Errors other than "use the bus path" fail
// the open.
Result<void> attachFast(const std::shared_ptr<Session> &session,
			const std::shared_ptr<SemaphoreProxy> &proxy);
Result<void> attachFast(const std::shared_ptr<Session> &session,
			const std::shared_ptr<LockProxy> &proxy);

} // namespace ipchub::detail
