#include "grant_quota.hpp"

#include <string>

namespace ipchub::core {

Result<void> GrantQuota::room(const ClientId &client, bool handle) const
{
	const auto it = counts_.find(client);
	const Count count = it == counts_.end() ? Count{} : it->second;
	if (count.grants >= limits_.grantsPerConnection)
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already holds " +
				    std::to_string(count.grants) +
				    " lock grants; grants_per_connection is " +
				    std::to_string(limits_.grantsPerConnection));
	if (grantsTotal_ >= limits_.grantsTotal)
		return fail(ErrorCode::LimitExceeded, "the service already gives " +
							      std::to_string(grantsTotal_) +
							      " lock grants; grants_total is " +
							      std::to_string(limits_.grantsTotal));
	if (!handle)
		return {};
	if (count.handles >= limits_.handlesPerConnection)
		return fail(ErrorCode::LimitExceeded,
			    "connection " + client + " already holds " +
				    std::to_string(count.handles) +
				    " lock handles; handles_per_connection is " +
				    std::to_string(limits_.handlesPerConnection));
	if (handlesTotal_ >= limits_.handlesTotal)
		return fail(ErrorCode::LimitExceeded, "the service already keeps " +
							      std::to_string(handlesTotal_) +
							      " lock handles; handles_total is " +
							      std::to_string(limits_.handlesTotal));
	return {};
}

void GrantQuota::take(const ClientId &client, bool handle)
{
	auto &count = counts_[client];
	++count.grants;
	++grantsTotal_;
	if (handle) {
		++count.handles;
		++handlesTotal_;
	}
}

void GrantQuota::give(const ClientId &client, bool handle)
{
	auto it = counts_.find(client);
	if (it == counts_.end() || it->second.grants == 0)
		return;
	--it->second.grants;
	--grantsTotal_;
	if (handle && it->second.handles > 0) {
		--it->second.handles;
		--handlesTotal_;
	}
	if (it->second.grants == 0)
		counts_.erase(it);
}

uint32_t GrantQuota::grants(const ClientId &client) const
{
	const auto it = counts_.find(client);
	return it == counts_.end() ? 0 : it->second.grants;
}

uint32_t GrantQuota::handles(const ClientId &client) const
{
	const auto it = counts_.find(client);
	return it == counts_.end() ? 0 : it->second.handles;
}

} // namespace ipchub::core
