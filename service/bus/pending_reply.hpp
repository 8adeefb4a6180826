// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>

#include <sdbus-c++/sdbus-c++.h>

#include "common/result.hpp"

#include "errors.hpp"
#include "event_loop.hpp"

namespace ipchub::bus {

// A deferred method reply and the timer that ends its wait. The core's completion
// holds it; the first of grant, error or timeout answers, and the timer goes.
template <typename... Results>
class PendingReply
{
public:
	explicit PendingReply(sdbus::Result<Results...> &&reply) : reply_(std::move(reply)) {}

	void succeed(const Results &...results)
	{
		timer.reset();
		try {
			reply_.returnResults(results...);
		} catch (const sdbus::Error &) {
			// The caller is gone; what it was granted comes back when the bus says so.
		}
	}

	void fail(const Error &error)
	{
		timer.reset();
		try {
			reply_.returnError(toDbusError(error));
		} catch (const sdbus::Error &) {
		}
	}

	std::unique_ptr<Timer> timer;

private:
	sdbus::Result<Results...> reply_;
};

} // namespace ipchub::bus
