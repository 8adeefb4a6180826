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

// The lock of shared-memory object for client (waits.hpp).
struct SharedMemoryLockRequest : PlainWaitRequest<SharedMemoryLockRequest> {
	SharedMemoryLockRequest(const std::shared_ptr<core::SharedMemory> &sharedMemory,
				const core::ClientId &client)
		: sharedMemory(sharedMemory), client(client)
	{
	}

	Result<void> takeNow() const { return sharedMemory->lock().lockNow(client); }
	Result<bool> tryTake() const { return sharedMemory->lock().tryLock(client); }
	Result<std::optional<core::WaitId>> queueWait(core::Completion done) const
	{
		return sharedMemory->lock().lock(client, std::move(done));
	}
	std::function<void(core::WaitId)> expire(uint64_t timeoutUsec) const
	{
		return [weak = std::weak_ptr(sharedMemory), timeoutUsec](core::WaitId id) {
			if (auto sharedMemory = weak.lock())
				sharedMemory->lock().cancelWait(id,
								core::SharedMemoryLock::timedOut(
									timeoutUsec));
		};
	}

	const std::shared_ptr<core::SharedMemory> &sharedMemory;
	const core::ClientId &client;
};

} // namespace

sdbus::UnixFd toUnixFd(UniqueFd fd)
{
	// sd-bus dups the descriptor into the reply; this one is closed with the UnixFd,
	// so the service keeps only the shared-memory object's own descriptors.
	return sdbus::UnixFd(fd.release(), sdbus::adopt_fd);
}

SharedMemoryAdaptor::SharedMemoryAdaptor(sdbus::IConnection &connection, std::string path,
					 std::shared_ptr<core::SharedMemory> sharedMemory,
					 Context context)
	: AdaptorInterfaces(connection, std::move(path)), sharedMemory_(std::move(sharedMemory)),
	  context_(context),
	  changes_(getObject(), SharedMemory_adaptor::INTERFACE_NAME, context.loop,
		   context.delivery, sharedMemory_->info(),
		   [this](ChangedProperties &changed) {
			   changed.add("Attachments", sharedMemory_->attachments());
			   changed.add("Sealed", sharedMemory_->sealed());
			   changed.add("LockHolder", lockHolder(&changed.recipient()));
			   changed.add("LockWaiters", sharedMemory_->lock().waiters());
		   }),
	  waitEnded_(std::make_shared<WaitEndedSender>(getObject(),
						       SharedMemory_adaptor::INTERFACE_NAME))
{
	registerAdaptor();
	announceAdded(*context_.manager, context_.delivery, sharedMemory_->info(),
		      getObject().getObjectPath(), SharedMemory_adaptor::INTERFACE_NAME,
		      {{"Key", sdbus::Variant(Key())},
		       {"Scope", sdbus::Variant(Scope())},
		       {"Size", sdbus::Variant(Size())},
		       {"Attachments", sdbus::Variant(Attachments())},
		       {"Sealed", sdbus::Variant(Sealed())},
		       {"LockHolder", sdbus::Variant(LockHolder())},
		       {"LockWaiters", sdbus::Variant(LockWaiters())}});
}

// The destructor, caller check, Close and the property getters parallel those of the
// other object adaptors on purpose (see SemaphoreAdaptor in semaphore_adaptor.hpp).
SharedMemoryAdaptor::~SharedMemoryAdaptor()
{
	waitEnded_->detach();
	announceRemoved(*context_.manager, context_.delivery, sharedMemory_->info(),
			getObject().getObjectPath(), SharedMemory_adaptor::INTERFACE_NAME);
	unregisterAdaptor();
}

const Peer &SharedMemoryAdaptor::caller()
{
	const Peer &peer = currentCaller(getObject(), context_);
	unwrap(core::access::checkUse(peer.appId, sharedMemory_->info(),
				      context_.hub.sharedMemories.describe(sharedMemory_->id())));
	return peer;
}

void SharedMemoryAdaptor::checkReader() const
{
	checkPropertyReader(context_.peers, sharedMemory_->info(),
			    context_.hub.sharedMemories.describe(sharedMemory_->id()));
}

std::tuple<sdbus::UnixFd, uint64_t> SharedMemoryAdaptor::Attach(const bool &writable)
{
	const Peer &peer = caller();
	if (writable)
		unwrap(core::access::checkWrite(peer.appId, sharedMemory_->info(),
						context_.hub.sharedMemories.describe(
							sharedMemory_->id())));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve,
				      "a shared-memory descriptor"));
	auto fd = unwrap(sharedMemory_->attach(peer.name, writable));
	return {toUnixFd(std::move(fd)), sharedMemory_->size()};
}

void SharedMemoryAdaptor::Seal()
{
	unwrap(core::access::checkManage(caller().appId, sharedMemory_->info(),
					 context_.hub.sharedMemories.describe(sharedMemory_->id()),
					 "seal"));
	unwrap(sharedMemory_->seal());
}

void SharedMemoryAdaptor::Lock(sdbus::Result<> &&result, uint64_t timeout_usec)
{
	const Peer &peer = caller();
	auto pending = std::make_shared<PendingReply<>>(std::move(result));
	waitThenAnswer(SharedMemoryLockRequest{sharedMemory_, peer.name}, context_.loop,
		       timeout_usec, pending->timer, [pending](Result<std::monostate> outcome) {
			       outcome ? pending->succeed() : pending->fail(outcome.error());
		       });
}

uint64_t SharedMemoryAdaptor::WaitLock(const uint64_t &timeout_usec)
{
	const Peer &peer = caller();
	return waitForTicket(SharedMemoryLockRequest{sharedMemory_, peer.name}, context_.loop,
			     timeout_usec, waitEnded_, peer.name)
		.first;
}

void SharedMemoryAdaptor::CancelWait(const uint64_t &ticket)
{
	cancelTicket(sharedMemory_->lock(), ticket, caller().name);
}

void SharedMemoryAdaptor::Unlock()
{
	unwrap(sharedMemory_->lock().unlock(caller().name));
}

void SharedMemoryAdaptor::Close()
{
	// This may remove the shared-memory object, and retire this adaptor until the call is done.
	context_.hub.sharedMemories.close(caller().name, sharedMemory_->id());
}

std::string SharedMemoryAdaptor::Key()
{
	checkReader();
	return sharedMemory_->id().key;
}

std::string SharedMemoryAdaptor::Scope()
{
	checkReader();
	return sharedMemory_->id().scope;
}

uint64_t SharedMemoryAdaptor::Size()
{
	checkReader();
	return sharedMemory_->size();
}

uint32_t SharedMemoryAdaptor::Attachments()
{
	checkReader();
	return sharedMemory_->attachments();
}

bool SharedMemoryAdaptor::Sealed()
{
	checkReader();
	return sharedMemory_->sealed();
}

std::string SharedMemoryAdaptor::LockHolder()
{
	checkReader();
	return lockHolder(propertyViewer(context_.peers));
}

std::string SharedMemoryAdaptor::lockHolder(const Peer *viewer) const
{
	const auto holder = sharedMemory_->lock().holder();
	return holder ? holderName(context_.peers, viewer, *holder) : "";
}

uint32_t SharedMemoryAdaptor::LockWaiters()
{
	checkReader();
	return sharedMemory_->lock().waiters();
}

} // namespace ipchub::bus
