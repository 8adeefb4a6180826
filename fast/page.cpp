// SPDX-License-Identifier: LGPL-2.1-or-later
#include "page.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <utility>

namespace ipchub::fast {

namespace {

constexpr int kPageSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

Result<Mapping> mapShared(int fd, size_t size)
{
	void *address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (address == MAP_FAILED)
		return fail(Errc::System, errno);
	return Mapping(address, size);
}

} // namespace

Mapping::Mapping(Mapping &&other) noexcept
	: address_(std::exchange(other.address_, nullptr)), size_(std::exchange(other.size_, 0))
{
}

Mapping &Mapping::operator=(Mapping &&other) noexcept
{
	if (this != &other) {
		reset();
		address_ = std::exchange(other.address_, nullptr);
		size_ = std::exchange(other.size_, 0);
	}
	return *this;
}

Mapping::~Mapping()
{
	reset();
}

void Mapping::reset()
{
	if (address_)
		munmap(address_, size_);
	address_ = nullptr;
	size_ = 0;
}

Result<UniqueFd> createPage(const char *name, size_t size)
{
	UniqueFd fd(memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd)
		return fail(Errc::System, errno);
	if (ftruncate(fd.get(), static_cast<off_t>(size)) < 0)
		return fail(Errc::System, errno);
	if (fcntl(fd.get(), F_ADD_SEALS, kPageSeals) < 0)
		return fail(Errc::System, errno);
	return fd;
}

Result<Mapping> mapPage(int fd, size_t size)
{
	return mapShared(fd, size);
}

Result<Mapping> mapReceivedPage(UniqueFd fd, size_t size)
{
	const int seals = fcntl(fd.get(), F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return fail(Errc::InvalidPage);
	struct stat st {
	};
	if (fstat(fd.get(), &st) < 0)
		return fail(Errc::System, errno);
	if (st.st_size < 0 || static_cast<size_t>(st.st_size) < size)
		return fail(Errc::InvalidPage);
	auto mapping = mapShared(fd.get(), size);
	if (!mapping)
		return mapping;
	if (madvise(mapping->address(), size, MADV_DONTFORK) < 0)
		return fail(Errc::System, errno);
	fd.reset();
	return mapping;
}

} // namespace ipchub::fast
