// SPDX-License-Identifier: LGPL-2.1-or-later
#include "shared_memory_adaptor.hpp"

#include "announce.hpp"
#include "core/access.hpp"
#include "descriptor_reserve.hpp"
#include "errors.hpp"
#include "pending_reply.hpp"
#include "waits.hpp"

namespace ipchub::bus {

namespace {

// The lock of segment for client (waits.hpp).
struct SegmentLockRequest : PlainWaitRequest<SegmentLockRequest> {
	SegmentLockRequest(const std::shared_ptr<core::SharedMemory> &segment,
			   const core::ClientId &client)
		: segment(segment), client(client)
	{
	}

	Result<void> takeNow() const { return segment->lock().lockNow(client); }
	Result<bool> tryTake() const { return segment->lock().tryLock(client); }
	Result<std::optional<core::WaitId>> queueWait(core::Completion done) const
	{
		return segment->lock().lock(client, std::move(done));
	}
	std::function<void(core::WaitId)> expire(uint64_t timeoutUsec) const
	{
		return [weak = std::weak_ptr(segment), timeoutUsec](core::WaitId id) {
			if (auto segment = weak.lock())
				segment->lock().cancelWait(id, core::SegmentLock::timedOut(
								       timeoutUsec));
		};
	}

	const std::shared_ptr<core::SharedMemory> &segment;
	const core::ClientId &client;
};

} // namespace

sdbus::UnixFd toUnixFd(UniqueFd fd)
{
	// sd-bus dups the descriptor into the reply; this one is closed with the UnixFd,
	// so the service keeps only the segment's own descriptors.
	return sdbus::UnixFd(fd.release(), sdbus::adopt_fd);
}

SharedMemoryAdaptor::SharedMemoryAdaptor(sdbus::IConnection &connection, std::string path,
					 std::shared_ptr<core::SharedMemory> segment,
					 Context context)
	: AdaptorInterfaces(connection, std::move(path)), segment_(std::move(segment)),
	  context_(context),
	  changes_(getObject(), SharedMemory_adaptor::INTERFACE_NAME, context.loop,
		   context.delivery, segment_->info(),
		   [this](ChangedProperties &changed) {
			   changed.add("Attachments", segment_->attachments());
			   changed.add("Sealed", segment_->sealed());
			   changed.add("LockHolder", lockHolder(&changed.recipient()));
			   changed.add("LockWaiters", segment_->lock().waiters());
		   }),
	  waitEnded_(std::make_shared<WaitEndedSender>(getObject(),
						       SharedMemory_adaptor::INTERFACE_NAME))
{
	registerAdaptor();
	announceAdded(*context_.manager, context_.delivery, segment_->info(),
		      getObject().getObjectPath(), SharedMemory_adaptor::INTERFACE_NAME,
		      {{"Key", sdbus::Variant(Key())},
		       {"Scope", sdbus::Variant(Scope())},
		       {"Size", sdbus::Variant(Size())},
		       {"Attachments", sdbus::Variant(Attachments())},
		       {"Sealed", sdbus::Variant(Sealed())},
		       {"LockHolder", sdbus::Variant(LockHolder())},
		       {"LockWaiters", sdbus::Variant(LockWaiters())}});
}

SharedMemoryAdaptor::~SharedMemoryAdaptor()
{
	waitEnded_->detach();
	announceRemoved(*context_.manager, context_.delivery, segment_->info(),
			getObject().getObjectPath(), SharedMemory_adaptor::INTERFACE_NAME);
	unregisterAdaptor();
}

const Peer &SharedMemoryAdaptor::caller()
{
	const Peer &peer = currentCaller(getObject(), context_);
	unwrap(core::access::checkUse(peer.appId, segment_->info(),
				      context_.hub.segments.describe(segment_->id())));
	return peer;
}

void SharedMemoryAdaptor::checkReader() const
{
	checkPropertyReader(context_.peers, segment_->info(),
			    context_.hub.segments.describe(segment_->id()));
}

std::tuple<sdbus::UnixFd, uint64_t> SharedMemoryAdaptor::Attach(const bool &writable)
{
	const Peer &peer = caller();
	if (writable)
		unwrap(core::access::checkWrite(peer.appId, segment_->info(),
						context_.hub.segments.describe(segment_->id())));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
				      "a shared-memory descriptor"));
	auto fd = unwrap(segment_->attach(peer.name, writable));
	return {toUnixFd(std::move(fd)), segment_->size()};
}

void SharedMemoryAdaptor::Seal()
{
	unwrap(core::access::checkManage(caller().appId, segment_->info(),
					 context_.hub.segments.describe(segment_->id()), "seal"));
	unwrap(segment_->seal());
}

void SharedMemoryAdaptor::Lock(sdbus::Result<> &&result, uint64_t timeout_usec)
{
	const Peer &peer = caller();
	auto pending = std::make_shared<PendingReply<>>(std::move(result));
	waitThenAnswer(SegmentLockRequest{segment_, peer.name}, context_.loop, timeout_usec,
		       pending->timer, [pending](Result<std::monostate> outcome) {
			       outcome ? pending->succeed() : pending->fail(outcome.error());
		       });
}

uint64_t SharedMemoryAdaptor::WaitLock(const uint64_t &timeout_usec)
{
	const Peer &peer = caller();
	return waitForTicket(SegmentLockRequest{segment_, peer.name}, context_.loop, timeout_usec,
			     waitEnded_, peer.name)
		.first;
}

void SharedMemoryAdaptor::CancelWait(const uint64_t &ticket)
{
	cancelTicket(segment_->lock(), ticket, caller().name);
}

void SharedMemoryAdaptor::Unlock()
{
	unwrap(segment_->lock().unlock(caller().name));
}

void SharedMemoryAdaptor::Close()
{
	// This may remove the segment, and retire this adaptor until the call is done.
	context_.hub.segments.close(caller().name, segment_->id());
}

std::string SharedMemoryAdaptor::Key()
{
	checkReader();
	return segment_->id().key;
}

std::string SharedMemoryAdaptor::Scope()
{
	checkReader();
	return segment_->id().scope;
}

uint64_t SharedMemoryAdaptor::Size()
{
	checkReader();
	return segment_->size();
}

uint32_t SharedMemoryAdaptor::Attachments()
{
	checkReader();
	return segment_->attachments();
}

bool SharedMemoryAdaptor::Sealed()
{
	checkReader();
	return segment_->sealed();
}

std::string SharedMemoryAdaptor::LockHolder()
{
	checkReader();
	return lockHolder(propertyViewer(context_.peers));
}

std::string SharedMemoryAdaptor::lockHolder(const Peer *viewer) const
{
	const auto holder = segment_->lock().holder();
	return holder ? holderName(context_.peers, viewer, *holder) : "";
}

uint32_t SharedMemoryAdaptor::LockWaiters()
{
	checkReader();
	return segment_->lock().waiters();
}

} // namespace ipchub::bus
