// SPDX-License-Identifier: LGPL-2.1-or-later
#include "shared_memory.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ipchub::core {

namespace {

// The error of a failed system call, errno saved by the caller at once.
Error systemError(const std::string &what, int error)
{
	return Error{ErrorCode::Failed, what + ": " + std::strerror(error)};
}

Result<UniqueFd> makeSealedMemfd(uint64_t size)
{
	UniqueFd fd(memfd_create("ipchub-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd)
		return detail::Unexpected<Error>(systemError("memfd_create", errno));
	if (ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
		const int error = errno;
		return detail::Unexpected<Error>(
			systemError("ftruncate of a new shared-memory object to " +
					    std::to_string(size) + " bytes",
				    error));
	}
	// Owner read only: a client that was handed a read-only descriptor cannot
	// re-open it read-write through /proc/self/fd (the service re-opens it read-only
	// itself, which read permission allows). Descriptors already open keep their mode.
	if (fchmod(fd.get(), S_IRUSR) < 0)
		return detail::Unexpected<Error>(
			systemError("fchmod of a new shared-memory object", errno));
	// From now on nobody can change the size under a mapping, which would SIGBUS it.
	if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return detail::Unexpected<Error>(
			systemError("sealing a new shared-memory object against shrink and grow",
				    errno));
	return fd;
}

// A new open file description of memfd, read-only: dup() would share the read-write
// one, and mmap checks the description's mode. A client holding the read-write
// descriptor may have changed the inode's mode (fchmod 0 refuses every re-open): the
// service owns the inode too and puts owner-read back.
Result<UniqueFd> openReadOnly(const UniqueFd &memfd)
{
	const std::string self = "/proc/self/fd/" + std::to_string(memfd.get());
	UniqueFd fd(open(self.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd && errno == EACCES && fchmod(memfd.get(), S_IRUSR) == 0)
		fd.reset(open(self.c_str(), O_RDONLY | O_CLOEXEC));
	if (!fd)
		return detail::Unexpected<Error>(
			systemError("re-opening the shared-memory object read-only (" + self + ")",
				    errno));
	return fd;
}

// The seals that make a shared-memory object immutable: the service adds the future-write one; a
// client holding a read-write descriptor may have added either itself.
constexpr int kWriteSeals = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

} // namespace

Result<std::shared_ptr<SharedMemory>> SharedMemory::create(ObjectInfo info, uint64_t size,
							   const ClientId &creator, Quota &quota)
{
	if (size == 0)
		return fail(ErrorCode::InvalidArgument,
			    "size is 0; a shared-memory object is at least 1 byte");
	const uint64_t limit = quota.limits().sharedMemorySize;
	if (size > limit)
		return fail(ErrorCode::LimitExceeded, "size is " + std::to_string(size) +
							      " bytes; segment_size is " +
							      std::to_string(limit));
	if (auto taken = quota.takeBytes(creator, size); !taken)
		return errorOf(taken);
	auto memfd = makeSealedMemfd(size);
	// Opened before any client has a descriptor: nothing a client does to the inode
	// later (fchmod) can keep read-only attaches from working.
	auto readOnly = memfd ? openReadOnly(*memfd) : Result<UniqueFd>(UniqueFd());
	if (!memfd || !readOnly) {
		quota.returnBytes(creator, size);
		return detail::Unexpected<Error>(memfd ? readOnly.error() : memfd.error());
	}
	auto sharedMemory = std::make_shared<SharedMemory>(std::move(info), size, std::move(*memfd),
							   creator, quota);
	sharedMemory->readOnly_ = std::move(*readOnly);
	return sharedMemory;
}

Result<std::shared_ptr<SharedMemory>> SharedMemory::restore(ObjectInfo info, uint64_t size,
							    bool sealed, UniqueFd memfd,
							    const ClientId &creator, Quota &quota)
{
	struct stat status {
	};
	if (fstat(memfd.get(), &status) < 0)
		return detail::Unexpected<Error>(
			systemError("fstat of a restored shared-memory object", errno));
	if (static_cast<uint64_t>(status.st_size) != size)
		return fail(ErrorCode::InvalidArgument,
			    "the restored shared-memory object's memfd is " +
				    std::to_string(status.st_size) + " bytes; the snapshot says " +
				    std::to_string(size));
	const int seals = fcntl(memfd.get(), F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		return fail(
			ErrorCode::InvalidArgument,
			"the restored shared-memory object's memfd is not sealed against shrink and grow");
	auto readOnly = openReadOnly(memfd);
	if (!readOnly)
		return errorOf(readOnly);
	const bool charge = !creator.empty() && quota.takeBytes(creator, size).has_value();
	auto sharedMemory = std::make_shared<SharedMemory>(std::move(info), size, std::move(memfd),
							   creator, quota);
	sharedMemory->charged_ = charge;
	sharedMemory->readOnly_ = std::move(*readOnly);
	// sealed() reads the kernel's seals, which win over the snapshot: a shared-memory object
	// sealed after the snapshot was written is sealed. One the snapshot says is sealed is
	// sealed again if its memfd somehow is not.
	if (sealed)
		if (auto done = sharedMemory->seal(); !done)
			return errorOf(done);
	return sharedMemory;
}

SharedMemory::SharedMemory(ObjectInfo info, uint64_t size, UniqueFd memfd, ClientId creator,
			   Quota &quota)
	: info_(std::move(info)), size_(size), memfd_(std::move(memfd)),
	  creator_(std::move(creator)), quota_(quota), lock_(quota)
{
}

SharedMemory::~SharedMemory()
{
	if (charged_)
		quota_.returnBytes(creator_, size_);
}

void SharedMemory::setEvents(ObjectEvents *events)
{
	events_ = events;
	lock_.setEvents(events, &info_.id);
}

Result<UniqueFd> SharedMemory::attach(const ClientId &client, bool writable)
{
	if (!memfd_)
		return fail(ErrorCode::NotFound, "the shared-memory object was removed");
	if (events_)
		events_->touched(info_.id, client);
	UniqueFd fd;
	if (writable) {
		if (sealed())
			return fail(
				ErrorCode::PermissionDenied,
				"the shared-memory object is sealed; only read-only attaches (writable = "
				"false) are possible");
		fd.reset(fcntl(memfd_.get(), F_DUPFD_CLOEXEC, 0));
		if (!fd)
			return detail::Unexpected<Error>(
				systemError("dup of the shared-memory object", errno));
	} else {
		if (auto opened = readOnlyFd(); !opened)
			return errorOf(opened);
		fd.reset(fcntl(readOnly_.get(), F_DUPFD_CLOEXEC, 0));
		if (!fd)
			return detail::Unexpected<Error>(systemError(
				"dup of the shared-memory object's read-only descriptor", errno));
	}
	if (attached_.insert(client).second)
		notify();
	return fd;
}

Result<void> SharedMemory::readOnlyFd()
{
	// Opened once (create and restore open it at once): a path lookup through /proc
	// costs more than the rest of an Attach.
	if (readOnly_)
		return {};
	auto opened = openReadOnly(memfd_);
	if (!opened)
		return errorOf(opened);
	readOnly_ = std::move(*opened);
	return {};
}

int SharedMemory::seals() const
{
	return memfd_ ? fcntl(memfd_.get(), F_GET_SEALS) : -1;
}

bool SharedMemory::sealed() const
{
	const int current = seals();
	return sealed_ || (current >= 0 && (current & kWriteSeals) != 0);
}

Result<void> SharedMemory::seal()
{
	if (sealed_)
		return {};
	if (!memfd_)
		return fail(ErrorCode::NotFound, "the shared-memory object was removed");
	const int current = seals();
	if (current < 0)
		return detail::Unexpected<Error>(
			systemError("reading the shared-memory object's seals (F_GET_SEALS)",
				    errno));
	// A client with a read-write descriptor may have sealed the shared-memory object itself:
	// what it added counts, and the seals are closed if they are still open.
	int wanted = 0;
	if ((current & kWriteSeals) == 0)
		wanted |= F_SEAL_FUTURE_WRITE;
	if ((current & F_SEAL_SEAL) == 0)
		wanted |= F_SEAL_SEAL;
	else if (wanted != 0)
		return fail(
			ErrorCode::PermissionDenied,
			"the shared-memory object cannot be sealed: a client holding a writable descriptor "
			"added F_SEAL_SEAL to its memfd, which forbids adding the write seal");
	if (wanted != 0 && fcntl(memfd_.get(), F_ADD_SEALS, wanted) < 0)
		return detail::Unexpected<Error>(
			systemError("adding F_SEAL_FUTURE_WRITE and F_SEAL_SEAL", errno));
	sealed_ = true;
	notify();
	if (events_)
		events_->stateChanged(info_.id, true);
	return {};
}

void SharedMemory::dropClient(const ClientId &client, bool closing)
{
	const bool wasAttached = attached_.erase(client) > 0;
	// The lock notifies about its own changes.
	lock_.dropClient(client, closing);
	if (wasAttached)
		notify();
}

void SharedMemory::end(const Error &error)
{
	lock_.end(error);
	attached_.clear();
	if (charged_) {
		quota_.returnBytes(creator_, size_);
		charged_ = false;
	}
	memfd_.reset();
	readOnly_.reset();
}

void SharedMemory::notify()
{
	if (events_)
		events_->changed(info_.id);
}

} // namespace ipchub::core
