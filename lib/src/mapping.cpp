// SPDX-License-Identifier: LGPL-2.1-or-later
#include "mapping.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/mman.h>

namespace ipchub::detail {

Result<std::unique_ptr<Mapping>> Mapping::map(UniqueFd fd, uint64_t size, Access access)
{
	if (fd.get() < 0)
		return fail(ErrorCode::Failed, "the service sent no valid descriptor");
	if (size == 0 || size > SIZE_MAX)
		return fail(ErrorCode::Failed, "the shared-memory object's size " +
						       std::to_string(size) + " cannot be mapped");
	const int protection = access == Access::ReadWrite ? PROT_READ | PROT_WRITE : PROT_READ;
	void *data = mmap(nullptr, static_cast<size_t>(size), protection, MAP_SHARED, fd.get(), 0);
	if (data == MAP_FAILED) {
		const int error = errno;
		return fail(ErrorCode::Failed,
			    "mmap of " + std::to_string(size) +
				    " bytes of the shared-memory object failed: " +
				    std::strerror(error));
	}
	return std::unique_ptr<Mapping>(new Mapping(std::move(fd), static_cast<std::byte *>(data),
						    static_cast<size_t>(size)));
}

Mapping::~Mapping()
{
	munmap(data_, size_);
}

} // namespace ipchub::detail
