// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/unique_fd.hpp"
#include "ipchub/result.hpp"
#include "ipchub/shared_memory.hpp"

namespace ipchub::detail {

// A shared-memory object's descriptor and its mapping into this process, both released when the
// Mapping goes.
class Mapping
{
public:
	// Maps size bytes of fd shared, writable for ReadWrite.
	static Result<std::unique_ptr<Mapping>> map(UniqueFd fd, uint64_t size, Access access);
	~Mapping();
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;

	std::byte *data() const { return data_; }
	size_t size() const { return size_; }
	int fd() const { return fd_.get(); }

private:
	Mapping(UniqueFd fd, std::byte *data, size_t size)
		: fd_(std::move(fd)), data_(data), size_(size)
	{
	}

	UniqueFd fd_;
	std::byte *data_;
	size_t size_;
};

} // namespace ipchub::detail
