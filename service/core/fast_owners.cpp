// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_owners.hpp"

#include <string>

#include "fast/word.hpp"

namespace ipchub::core {

Result<uint32_t> FastOwners::ownerFor(const ClientId &client)
{
	if (auto it = byClient_.find(client); it != byClient_.end())
		return it->second;
	auto id = ids_.allocate();
	if (!id)
		return fail(ErrorCode::LimitExceeded,
			    "all " + std::to_string(fast::kOwnerLimit - 1) +
				    " owner ids of fast objects are taken by connections");
	byClient_.emplace(client, *id);
	byOwner_.emplace(*id, client);
	return *id;
}

// Parallels FastPage::attachOf (fast_page.cpp) on purpose: owner ids are per
// connection, attach slots per connection and page.
std::optional<uint32_t> FastOwners::find(const ClientId &client) const
{
	auto it = byClient_.find(client);
	if (it == byClient_.end())
		return std::nullopt;
	return it->second;
}

const ClientId *FastOwners::clientOf(uint32_t owner) const
{
	auto it = byOwner_.find(owner);
	return it == byOwner_.end() ? nullptr : &it->second;
}

void FastOwners::release(const ClientId &client)
{
	auto it = byClient_.find(client);
	if (it == byClient_.end())
		return;
	ids_.release(it->second);
	byOwner_.erase(it->second);
	byClient_.erase(it);
}

} // namespace ipchub::core
