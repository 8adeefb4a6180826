// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <unordered_map>

#include "client.hpp"
#include "limits.hpp"
#include "quota.hpp"

namespace ipchub::core {

// The lock grants all connections hold together, and the handles each holds. How many
// grants one connection holds is counted once, by Quota (with its account's), and read
// here. A handle grant (AcquireHandle) costs the service two descriptors for as long as
// it lasts, so handles have limits of their own: the descriptors they take must leave
// the service room to read messages and identify callers.
class GrantQuota
{
public:
	// quota counts each connection's grants; it must outlive this.
	GrantQuota(const Limits &limits, const Quota &quota) : limits_(limits), quota_(quota) {}

	// Whether client may get one more grant (a handle grant if handle); LimitExceeded
	// naming the limit if not.
	Result<void> room(const ClientId &client, bool handle) const;
	// Counts a grant, whether there was room or not (a restored one); the holder's own
	// count is Quota::addGrant's.
	void take(const ClientId &client, bool handle);
	void give(const ClientId &client, bool handle);

	uint32_t grants(const ClientId &client) const;
	uint32_t handles(const ClientId &client) const;
	uint64_t handlesTotal() const { return handlesTotal_; }

private:
	Limits limits_;
	const Quota &quota_;
	std::unordered_map<ClientId, uint32_t> handles_;
	uint64_t grantsTotal_ = 0;
	uint64_t handlesTotal_ = 0;
};

} // namespace ipchub::core
