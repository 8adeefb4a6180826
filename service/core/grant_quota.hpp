#pragma once

#include <cstdint>
#include <unordered_map>

#include "client.hpp"
#include "limits.hpp"

namespace ipchub::core {

// The lock grants each connection holds, and all of them together. A handle grant
// (AcquireHandle) costs the service two descriptors for as long as it lasts, so handles
// have limits of their own: the descriptors they take must leave the service room to
// read messages and identify callers.
class GrantQuota
{
public:
	explicit GrantQuota(const Limits &limits) : limits_(limits) {}

	// Whether client may get one more grant (a handle grant if handle); LimitExceeded
	// naming the limit if not.
	Result<void> room(const ClientId &client, bool handle) const;
	// Counts a grant, whether there was room or not (a restored one).
	void take(const ClientId &client, bool handle);
	void give(const ClientId &client, bool handle);

	uint32_t grants(const ClientId &client) const;
	uint32_t handles(const ClientId &client) const;
	uint64_t handlesTotal() const { return handlesTotal_; }

private:
	struct Count {
		uint32_t grants = 0;
		uint32_t handles = 0;
	};

	Limits limits_;
	std::unordered_map<ClientId, Count> counts_;
	uint64_t grantsTotal_ = 0;
	uint64_t handlesTotal_ = 0;
};

} // namespace ipchub::core
