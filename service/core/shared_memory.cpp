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
			systemError("ftruncate of a new segment to " + std::to_string(size) + " bytes",
				    error));
	}
	// Owner read only: a client that was handed a read-only descriptor cannot
	// re-open it read-write through /proc/self/fd (the service re-opens it read-only
	// itself, which read permission allows). Descriptors already open keep their mode.
	if (fchmod(fd.get(), S_IRUSR) < 0)
		return detail::Unexpected<Error>(systemError("fchmod of a new segment", errno));
	// From now on nobody can change the size under a mapping, which would SIGBUS it.
	if (fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return detail::Unexpected<Error>(
			systemError("sealing a new segment against shrink and grow", errno));
	return fd;
}

} // namespace

Result<std::shared_ptr<SharedMemory>> SharedMemory::create(ObjectInfo info, uint64_t size,
							   const ClientId &creator,
							   Quota &quota)
{
	if (size == 0)
		return fail(ErrorCode::InvalidArgument, "size is 0; a segment is at least 1 byte");
	const uint64_t limit = quota.limits().segmentSize;
	if (size > limit)
		return fail(ErrorCode::LimitExceeded,
			    "size is " + std::to_string(size) + " bytes; segment_size is " +
				    std::to_string(limit));
	if (auto taken = quota.takeBytes(creator, size); !taken)
		return detail::Unexpected<Error>(taken.error());
	auto memfd = makeSealedMemfd(size);
	if (!memfd) {
		quota.returnBytes(creator, size);
		return detail::Unexpected<Error>(memfd.error());
	}
	return std::make_shared<SharedMemory>(std::move(info), size, std::move(*memfd), creator,
					      quota);
}

Result<std::shared_ptr<SharedMemory>> SharedMemory::restore(ObjectInfo info, uint64_t size,
							    bool sealed, UniqueFd memfd,
							    const ClientId &creator, Quota &quota)
{
	struct stat status {};
	if (fstat(memfd.get(), &status) < 0)
		return detail::Unexpected<Error>(systemError("fstat of a restored segment", errno));
	if (static_cast<uint64_t>(status.st_size) != size)
		return fail(ErrorCode::InvalidArgument,
			    "the restored segment's memfd is " + std::to_string(status.st_size) +
				    " bytes; the snapshot says " + std::to_string(size));
	const int seals = fcntl(memfd.get(), F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		return fail(ErrorCode::InvalidArgument,
			    "the restored segment's memfd is not sealed against shrink and grow");
	const bool charge = !creator.empty() && quota.takeBytes(creator, size).has_value();
	auto segment = std::make_shared<SharedMemory>(std::move(info), size, std::move(memfd),
						      creator, quota);
	segment->charged_ = charge;
	// The kernel's seals win over the snapshot: a segment sealed just before the
	// snapshot was written is sealed.
	segment->sealed_ = sealed || (seals & F_SEAL_FUTURE_WRITE) != 0;
	return segment;
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

void SharedMemory::setChangeHandler(std::function<void()> handler)
{
	changed_ = std::move(handler);
	lock_.setChangeHandler(changed_);
}

void SharedMemory::setStateHandler(StateHandler handler)
{
	stateChanged_ = std::move(handler);
	lock_.setStateHandler(stateChanged_);
}

void SharedMemory::setTouchHandler(TouchHandler handler)
{
	touched_ = std::move(handler);
	lock_.setTouchHandler(touched_);
}

Result<UniqueFd> SharedMemory::attach(const ClientId &client, bool writable)
{
	if (!memfd_)
		return fail(ErrorCode::NotFound, "the segment was removed");
	if (touched_)
		touched_(client);
	UniqueFd fd;
	if (writable) {
		if (sealed_)
			return fail(ErrorCode::PermissionDenied,
				    "the segment is sealed; only read-only attaches (writable = "
				    "false) are possible");
		fd.reset(fcntl(memfd_.get(), F_DUPFD_CLOEXEC, 0));
		if (!fd)
			return detail::Unexpected<Error>(systemError("dup of the segment", errno));
	} else {
		if (auto opened = readOnlyFd(); !opened)
			return detail::Unexpected<Error>(opened.error());
		fd.reset(fcntl(readOnly_.get(), F_DUPFD_CLOEXEC, 0));
		if (!fd)
			return detail::Unexpected<Error>(
				systemError("dup of the segment's read-only descriptor", errno));
	}
	if (attached_.insert(client).second)
		notify();
	return fd;
}

Result<void> SharedMemory::readOnlyFd()
{
	if (readOnly_)
		return {};
	// A new open file description, read-only: dup() would share the read-write one,
	// and mmap checks the description's mode. Opened once: a path lookup through
	// /proc costs more than the rest of an Attach.
	const std::string self = "/proc/self/fd/" + std::to_string(memfd_.get());
	readOnly_.reset(open(self.c_str(), O_RDONLY | O_CLOEXEC));
	if (!readOnly_)
		return detail::Unexpected<Error>(
			systemError("re-opening the segment read-only (" + self + ")", errno));
	return {};
}

Result<void> SharedMemory::seal()
{
	if (sealed_)
		return {};
	if (fcntl(memfd_.get(), F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		return detail::Unexpected<Error>(
			systemError("adding F_SEAL_FUTURE_WRITE and F_SEAL_SEAL", errno));
	sealed_ = true;
	notify();
	if (stateChanged_)
		stateChanged_(true);
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
	if (changed_)
		changed_();
}

} // namespace ipchub::core
