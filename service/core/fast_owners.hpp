// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "client.hpp"
#include "fast/ids.hpp"

namespace ipchub::core {

// The owner id of each connection that uses a fast object, one for all its fast
// objects: what the page's words record of it instead of a TID. Given on first use
// (AttachFast, or a call through the bus on a fast object), round robin so that a
// departed connection's id names nobody else soon after, and freed once the
// connection's words have been recovered (it left the bus).
class FastOwners
{
public:
	// The client's owner id, a new one on its first use. LimitExceeded when all are taken.
	Result<uint32_t> ownerFor(const ClientId &client);
	std::optional<uint32_t> find(const ClientId &client) const;
	// The connection an owner id is given to; nullptr if none.
	const ClientId *clientOf(uint32_t owner) const;
	void release(const ClientId &client);
	uint32_t count() const { return ids_.count(); }

private:
	fast::OwnerIds ids_;
	std::unordered_map<ClientId, uint32_t> byClient_;
	std::unordered_map<uint32_t, ClientId> byOwner_;
};

} // namespace ipchub::core
