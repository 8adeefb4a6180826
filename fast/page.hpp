// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The memory of a fast object: a memfd that ipchubd creates, sized for the object and
// sealed so that nobody can shrink it (a shrunk page would SIGBUS ipchubd on its next
// touch) or grow it, and mappings of it with a single owner each.

#include <cstddef>

#include "common/unique_fd.hpp"

#include "error.hpp"

namespace ipchub::fast {

// One shared mapping, unmapped when its owner goes.
class Mapping
{
public:
	Mapping() = default;
	Mapping(void *address, size_t size) : address_(address), size_(size) {}
	Mapping(Mapping &&other) noexcept;
	Mapping &operator=(Mapping &&other) noexcept;
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;
	~Mapping();

	void *address() const { return address_; }
	size_t size() const { return size_; }

private:
	void reset();

	void *address_ = nullptr;
	size_t size_ = 0;
};

// A new page of size bytes, zero-filled, sealed SHRINK|GROW|SEAL (ipchubd's side).
Result<UniqueFd> createPage(const char *name, size_t size);

// ipchubd's own mapping of a page it created; it keeps the descriptor to hand it out.
Result<Mapping> mapPage(int fd, size_t size);

// A client's mapping of a page it received: the descriptor must be a memfd sealed
// against shrinking, at least size bytes long. The mapping is MADV_DONTFORK and the
// descriptor is closed right after mmap, so that once this process is dead (its bus
// connection gone) nobody it started can still write the page, and ipchubd may recover.
Result<Mapping> mapReceivedPage(UniqueFd fd, size_t size);

} // namespace ipchub::fast
