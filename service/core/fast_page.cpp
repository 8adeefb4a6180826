// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fast_page.hpp"

namespace ipchub::core {

Error fastError(const fast::Error &error, const std::string &what)
{
	return {fast::errorCode(error.code), what + ": " + fast::describe(error)};
}

FastPage::FastPage(UniqueFd fd, fast::Mapping mapping, uint32_t attachSlots)
	: fd_(std::move(fd)), mapping_(std::move(mapping)), slots_(1, attachSlots)
{
}

Result<std::unique_ptr<FastPage>> FastPage::create(const std::string &name, size_t size,
						   uint32_t attachSlots)
{
	auto fd = fast::createPage(name.c_str(), size);
	if (!fd)
		return tl::unexpected(fastError(fd.error(), "cannot create the page of " + name));
	auto mapping = fast::mapPage(fd->get(), size);
	if (!mapping)
		return tl::unexpected(fastError(mapping.error(), "cannot map the page of " + name));
	return std::unique_ptr<FastPage>(
		new FastPage(std::move(*fd), std::move(*mapping), attachSlots));
}

Result<uint32_t> FastPage::attach(const ClientId &client, const std::string &what)
{
	if (auto it = attached_.find(client); it != attached_.end())
		return it->second;
	auto slot = slots_.allocate();
	if (!slot)
		return fail(ErrorCode::LimitExceeded,
			    "all " + std::to_string(attached_.size()) + " attach slots of " + what +
				    " are taken by connections that attached");
	attached_.emplace(client, *slot);
	return *slot;
}

// Parallels FastOwners::find (fast_owners.cpp) on purpose (see there).
std::optional<uint32_t> FastPage::attachOf(const ClientId &client) const
{
	auto it = attached_.find(client);
	if (it == attached_.end())
		return std::nullopt;
	return it->second;
}

void FastPage::detach(const ClientId &client)
{
	auto it = attached_.find(client);
	if (it == attached_.end())
		return;
	slots_.release(it->second);
	attached_.erase(it);
}

} // namespace ipchub::core
