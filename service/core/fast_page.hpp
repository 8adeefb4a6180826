// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "client.hpp"
#include "common/unique_fd.hpp"
#include "fast/error.hpp"
#include "fast/ids.hpp"
#include "fast/page.hpp"

namespace ipchub::core {

// The page of one fast object as ipchubd holds it: the sealed memfd it hands to the
// connections that attach, its own mapping of it, and the attach slot of each
// connection that attached. Slot 0 is ipchubd's own (its waits for bus callers), so
// clients get 1..attachSlots-1. The page's contents are the clients' to write:
// nothing here reads a size or an index from it.
class FastPage
{
public:
	// A zero-filled page of size bytes with attachSlots slots (slot 0 included).
	static Result<std::unique_ptr<FastPage>> create(const std::string &name, size_t size,
							uint32_t attachSlots);

	int fd() const { return fd_.get(); }
	void *base() const { return mapping_.address(); }
	size_t size() const { return mapping_.size(); }

	// client's attach slot: the same on every call until detach, a new one on its
	// first. LimitExceeded naming what when every slot is taken.
	Result<uint32_t> attach(const ClientId &client, const std::string &what);
	std::optional<uint32_t> attachOf(const ClientId &client) const;
	void detach(const ClientId &client);
	size_t attachedCount() const { return attached_.size(); }

private:
	FastPage(UniqueFd fd, fast::Mapping mapping, uint32_t attachSlots);

	UniqueFd fd_;
	fast::Mapping mapping_;
	fast::RoundRobinIds slots_;
	std::map<ClientId, uint32_t> attached_;
};

// A fast/ error as the service's Result, with what failed in the message.
Error fastError(const fast::Error &error, const std::string &what);

} // namespace ipchub::core
