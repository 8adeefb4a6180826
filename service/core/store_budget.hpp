// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ipchub::core {

// The descriptors the service has put in the service manager's fd store, against the
// store's maximum (FileDescriptorStoreMax=). Past it the manager closes what it is sent
// and says nothing, so the service refuses what would need more instead. One place is
// kept free beyond the state's memfd: at start the state moves to a new memfd, which
// is stored before the old one is removed.
class StoreBudget
{
public:
	explicit StoreBudget(uint32_t max) : max_(max) {}

	// Counting only while a service manager keeps the fds.
	void setEnabled(bool enabled) { enabled_ = enabled; }
	bool enabled() const { return enabled_; }
	uint32_t max() const { return max_; }
	uint32_t used() const { return used_; }

	// Whether one more descriptor fits beside the state and its spare place.
	bool hasRoom() const { return !enabled_ || uint64_t{used_} + 2 <= max_; }
	// LimitExceeded naming what needs the place and the limit, unless hasRoom().
	Result<void> checkRoom(std::string_view what) const
	{
		if (hasRoom())
			return {};
		return fail(ErrorCode::LimitExceeded,
			    std::string(what) +
				    " needs a place in the service manager's fd store, " +
				    "which holds " + std::to_string(used_) +
				    " descriptors of ipchubd (one kept free for the state); " +
				    "fd_store_max is " + std::to_string(max_));
	}
	// The state's memfd may always go in, into the spare place if need be.
	bool fits() const { return !enabled_ || used_ < max_; }
	void added() { ++used_; }
	void removed()
	{
		if (used_ > 0)
			--used_;
	}

private:
	uint32_t max_;
	uint32_t used_ = 0;
	bool enabled_ = false;
};

} // namespace ipchub::core
