// SPDX-License-Identifier: LGPL-2.1-or-later
#include "grant_quota.hpp"

#include <string>

namespace ipchub::core {

namespace {

// LimitExceeded once count has reached limit: "connection C already holds 3 lock
// grants; grants_per_connection is 3" (the service's own count when client is null).
Result<void> below(uint64_t count, uint64_t limit, const ClientId *client, const char *verb,
		   const char *what, const char *name)
{
	if (count < limit)
		return {};
	return fail(ErrorCode::LimitExceeded,
		    (client ? "connection " + *client : std::string("the service")) + " already " +
			    verb + " " + std::to_string(count) + " " + what + "; " + name + " is " +
			    std::to_string(limit));
}

} // namespace

Result<void> GrantQuota::room(const ClientId &client, bool handle) const
{
	if (auto ok = below(grants(client), limits_.grantsPerConnection, &client, "holds",
			    "lock grants", "grants_per_connection");
	    !ok)
		return ok;
	if (auto ok = below(grantsTotal_, limits_.grantsTotal, nullptr, "gives", "lock grants",
			    "grants_total");
	    !ok || !handle)
		return ok;
	if (auto ok = below(handles(client), limits_.handlesPerConnection, &client, "holds",
			    "lock handles", "handles_per_connection");
	    !ok)
		return ok;
	return below(handlesTotal_, limits_.handlesTotal, nullptr, "keeps", "lock handles",
		     "handles_total");
}

void GrantQuota::take(const ClientId &client, bool handle)
{
	++grantsTotal_;
	if (handle) {
		++handles_[client];
		++handlesTotal_;
	}
}

void GrantQuota::give(const ClientId &client, bool handle)
{
	if (grantsTotal_ > 0)
		--grantsTotal_;
	if (!handle)
		return;
	auto it = handles_.find(client);
	if (it == handles_.end())
		return;
	--handlesTotal_;
	if (--it->second == 0)
		handles_.erase(it);
}

uint32_t GrantQuota::grants(const ClientId &client) const
{
	return quota_.grants(client);
}

uint32_t GrantQuota::handles(const ClientId &client) const
{
	const auto it = handles_.find(client);
	return it == handles_.end() ? 0 : it->second;
}

} // namespace ipchub::core
