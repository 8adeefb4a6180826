// SPDX-License-Identifier: LGPL-2.1-or-later
#include "semaphore_adaptor.hpp"

#include "announce.hpp"
#include "core/access.hpp"
#include "descriptor_reserve.hpp"
#include "errors.hpp"
#include "fast_scope.hpp"
#include "pending_reply.hpp"
#include "waits.hpp"

namespace ipchub::bus {

namespace {

// n units of semaphore for client (waits.hpp).
struct UnitsRequest : PlainWaitRequest<UnitsRequest> {
	UnitsRequest(const std::shared_ptr<core::Semaphore> &semaphore,
		     const core::ClientId &client, uint32_t n)
		: semaphore(semaphore), client(client), n(n)
	{
	}

	Result<void> takeNow() const { return semaphore->acquireNow(client, n); }
	Result<bool> tryTake() const { return semaphore->tryAcquire(client, n); }
	Result<std::optional<core::WaitId>> queueWait(core::Completion done) const
	{
		return semaphore->acquire(client, n, std::move(done));
	}
	std::function<void(core::WaitId)> expire(uint64_t timeoutUsec) const
	{
		return [weak = std::weak_ptr(semaphore), n = n, timeoutUsec](core::WaitId id) {
			if (auto semaphore = weak.lock())
				semaphore->cancelWait(id,
						      core::Semaphore::timedOut(n, timeoutUsec));
		};
	}

	const std::shared_ptr<core::Semaphore> &semaphore;
	const core::ClientId &client;
	uint32_t n;
};

} // namespace

SemaphoreAdaptor::SemaphoreAdaptor(sdbus::IConnection &connection, std::string path,
				   std::shared_ptr<core::Semaphore> semaphore, Context context)
	: AdaptorInterfaces(connection, std::move(path)), semaphore_(std::move(semaphore)),
	  context_(context),
	  changes_(getObject(), Semaphore_adaptor::INTERFACE_NAME, context.loop, context.delivery,
		   semaphore_->info(),
		   [this](ChangedProperties &changed) {
			   changed.add("Value", semaphore_->value());
			   changed.add("Waiters", semaphore_->waiters());
			   changed.addArray("Holders", holders(&changed.recipient()));
		   }),
	  waitEnded_(
		  std::make_shared<WaitEndedSender>(getObject(), Semaphore_adaptor::INTERFACE_NAME))
{
	if (semaphore_->fast())
		fastWatch_ = std::make_unique<FastWatch>(context_.loop,
							 [this] { semaphore_->pageChanged(); });
	registerAdaptor();
	announceAdded(*context_.manager, context_.delivery, semaphore_->info(),
		      getObject().getObjectPath(), Semaphore_adaptor::INTERFACE_NAME,
		      {{"Key", sdbus::Variant(Key())},
		       {"Scope", sdbus::Variant(Scope())},
		       {"Max", sdbus::Variant(Max())},
		       {"ReturnOnExit", sdbus::Variant(ReturnOnExit())},
		       {"Fast", sdbus::Variant(Fast())},
		       {"Value", sdbus::Variant(Value())},
		       {"Waiters", sdbus::Variant(Waiters())},
		       {"Holders", sdbus::Variant(Holders())}});
}

// The destructor, caller check, Close and the property getters parallel those of the
// other object adaptors on purpose (see SemaphoreAdaptor in semaphore_adaptor.hpp).
SemaphoreAdaptor::~SemaphoreAdaptor()
{
	fastWatch_.reset();
	waitEnded_->detach();
	announceRemoved(*context_.manager, context_.delivery, semaphore_->info(),
			getObject().getObjectPath(), Semaphore_adaptor::INTERFACE_NAME);
	unregisterAdaptor();
}

void SemaphoreAdaptor::changed()
{
	if (fastWatch_)
		fastWatch_->follow(semaphore_->fast()->seqWord(), semaphore_->watchedSeq());
	changes_.schedule();
}

const Peer &SemaphoreAdaptor::caller()
{
	const Peer &peer = currentCaller(getObject(), context_);
	unwrap(core::access::checkUse(peer.appId, semaphore_->info(),
				      "semaphore \"" + semaphore_->id().key + "\""));
	return peer;
}

void SemaphoreAdaptor::checkReader() const
{
	checkPropertyReader(context_.peers, semaphore_->info(),
			    "semaphore \"" + semaphore_->id().key + "\"");
}

void SemaphoreAdaptor::Acquire(sdbus::Result<> &&result, uint32_t n, uint64_t timeout_usec)
{
	const Peer &peer = caller();
	auto pending = std::make_shared<PendingReply<>>(std::move(result));
	waitThenAnswer(UnitsRequest{semaphore_, peer.name, n}, context_.loop, timeout_usec,
		       pending->timer, [pending](Result<std::monostate> outcome) {
			       outcome ? pending->succeed() : pending->fail(outcome.error());
		       });
}

uint64_t SemaphoreAdaptor::Wait(const uint32_t &n, const uint64_t &timeout_usec)
{
	const Peer &peer = caller();
	return waitForTicket(UnitsRequest{semaphore_, peer.name, n}, context_.loop, timeout_usec,
			     waitEnded_, peer.name)
		.first;
}

void SemaphoreAdaptor::CancelWait(const uint64_t &ticket)
{
	cancelTicket(*semaphore_, ticket, caller().name);
}

bool SemaphoreAdaptor::TryAcquire(const uint32_t &n)
{
	return unwrap(semaphore_->tryAcquire(caller().name, n));
}

void SemaphoreAdaptor::Release(const uint32_t &n)
{
	unwrap(semaphore_->release(caller().name, n));
}

// Parallels LockAdaptor::AttachFast on purpose (see there).
std::tuple<sdbus::UnixFd, uint32_t, uint32_t, uint32_t, uint32_t> SemaphoreAdaptor::AttachFast()
{
	const Peer &peer = caller();
	const std::string what = "semaphore \"" + semaphore_->id().key + "\"";
	if (!semaphore_->fast())
		throw toDbusError({ErrorCode::InvalidArgument, what + " is not a fast object"});
	unwrap(checkFastScope(peer, semaphore_->info(), what));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve, "a fast page"));
	const auto attached = unwrap(semaphore_->attachFast(peer.name));
	const auto shape = semaphore_->fast()->shape();
	return {sdbus::UnixFd(semaphore_->fast()->page().fd()), attached.owner, attached.attach,
		shape.units, shape.attachSlots};
}

void SemaphoreAdaptor::Close()
{
	// This may remove the semaphore, and retire this adaptor until the call is done.
	context_.hub.semaphores.close(caller().name, semaphore_->id());
}

bool SemaphoreAdaptor::Fast()
{
	checkReader();
	return semaphore_->fast() != nullptr;
}

std::string SemaphoreAdaptor::Key()
{
	checkReader();
	return semaphore_->id().key;
}

std::string SemaphoreAdaptor::Scope()
{
	checkReader();
	return semaphore_->id().scope;
}

uint32_t SemaphoreAdaptor::Max()
{
	checkReader();
	return semaphore_->max();
}

bool SemaphoreAdaptor::ReturnOnExit()
{
	checkReader();
	return semaphore_->returnsOnExit();
}

uint32_t SemaphoreAdaptor::Value()
{
	checkReader();
	return semaphore_->value();
}

uint32_t SemaphoreAdaptor::Waiters()
{
	checkReader();
	return semaphore_->waiters();
}

std::vector<sdbus::Struct<std::string, uint32_t>> SemaphoreAdaptor::Holders()
{
	checkReader();
	return holders(propertyViewer(context_.peers));
}

std::vector<sdbus::Struct<std::string, uint32_t>>
SemaphoreAdaptor::holders(const Peer *viewer) const
{
	std::vector<sdbus::Struct<std::string, uint32_t>> holders;
	for (const auto &[name, units] : semaphore_->holders())
		holders.emplace_back(holderName(context_.peers, viewer, name), units);
	return holders;
}

} // namespace ipchub::bus
