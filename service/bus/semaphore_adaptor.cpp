#include "semaphore_adaptor.hpp"

#include "announce.hpp"
#include "core/access.hpp"
#include "errors.hpp"
#include "pending_reply.hpp"

namespace ipchub::bus {

namespace {

Error unitsTimeout(uint32_t n, uint64_t timeoutUsec)
{
	return {ErrorCode::Timeout, "no " + std::to_string(n) + " units were free within " +
					    std::to_string(timeoutUsec) + " µs"};
}

} // namespace

SemaphoreAdaptor::SemaphoreAdaptor(sdbus::IConnection &connection, std::string path,
				   std::shared_ptr<core::Semaphore> semaphore, Context context)
	: AdaptorInterfaces(connection, std::move(path)), semaphore_(std::move(semaphore)),
	  context_(context), changes_(getObject(), Semaphore_adaptor::INTERFACE_NAME, context.loop,
				      context.delivery, semaphore_->info(),
				      [this](ChangedProperties &changed) {
					      changed.add("Value", semaphore_->value());
					      changed.add("Waiters", semaphore_->waiters());
					      changed.addArray("Holders", holders(&changed.recipient()));
				      }),
	  waitEnded_(
		  std::make_shared<WaitEndedSender>(getObject(), Semaphore_adaptor::INTERFACE_NAME))
{
	registerAdaptor();
	semaphore_->setChangeHandler([this] { changes_.schedule(); });
	announceAdded(*context_.manager, context_.delivery, semaphore_->info(),
		      getObject().getObjectPath(), Semaphore_adaptor::INTERFACE_NAME,
		      {{"Key", sdbus::Variant(Key())},
		       {"Scope", sdbus::Variant(Scope())},
		       {"Max", sdbus::Variant(Max())},
		       {"Value", sdbus::Variant(Value())},
		       {"Waiters", sdbus::Variant(Waiters())},
		       {"Holders", sdbus::Variant(Holders())}});
}

SemaphoreAdaptor::~SemaphoreAdaptor()
{
	semaphore_->setChangeHandler(nullptr);
	waitEnded_->detach();
	announceRemoved(*context_.manager, context_.delivery, semaphore_->info(),
			getObject().getObjectPath(), Semaphore_adaptor::INTERFACE_NAME);
	unregisterAdaptor();
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
	if (timeout_usec == 0) {
		if (!unwrap(semaphore_->tryAcquire(peer.name, n)))
			throw toDbusError({ErrorCode::WouldBlock,
					   std::to_string(n) + " units are not free now"});
		result.returnResults();
		return;
	}

	auto pending = std::make_shared<PendingReply<>>(std::move(result));
	auto queued = semaphore_->acquire(peer.name, n, [pending](Result<void> outcome) {
		outcome ? pending->succeed() : pending->fail(outcome.error());
	});
	std::weak_ptr<core::Semaphore> weak = semaphore_;
	answerWhenGranted(pending, queued, context_.loop, timeout_usec,
			  [weak, n, timeout_usec](core::WaitId id) {
				  if (auto semaphore = weak.lock())
					  semaphore->cancelWait(id, unitsTimeout(n, timeout_usec));
			  });
}

uint64_t SemaphoreAdaptor::Wait(const uint32_t &n, const uint64_t &timeout_usec)
{
	const Peer &peer = caller();
	// Free units and nobody waiting: granted now, without building a completion.
	if (unwrap(semaphore_->tryAcquire(peer.name, n)))
		return 0;
	if (timeout_usec == 0)
		throw toDbusError(
			{ErrorCode::WouldBlock, std::to_string(n) + " units are not free now"});
	// The same queue as Acquire; only the answer travels as a signal. It is sent
	// from a later message or timer, so always after this method's reply.
	auto ticket = std::make_shared<WaitTicket>();
	auto queued = semaphore_->acquire(
		peer.name, n,
		[sender = waitEnded_, ticket, destination = peer.name](Result<void> outcome) {
			ticket->timer.reset();
			sender->send(destination, ticket->id, outcome);
		});
	if (!queued)
		throw toDbusError(queued.error());
	if (!*queued)
		return 0;
	ticket->id = **queued;
	ticket->expireAfter(context_.loop, timeout_usec, semaphore_,
			    [n, timeout_usec](core::Semaphore &semaphore, uint64_t id) {
				    semaphore.cancelWait(id, unitsTimeout(n, timeout_usec));
			    });
	return ticket->id;
}

void SemaphoreAdaptor::CancelWait(const uint64_t &ticket)
{
	const Peer &peer = caller();
	if (semaphore_->isWaitOf(ticket, peer.name))
		semaphore_->cancelWait(ticket, waitCancelled(ticket));
}

bool SemaphoreAdaptor::TryAcquire(const uint32_t &n)
{
	return unwrap(semaphore_->tryAcquire(caller().name, n));
}

void SemaphoreAdaptor::Release(const uint32_t &n)
{
	unwrap(semaphore_->release(caller().name, n));
}

void SemaphoreAdaptor::Close()
{
	// This may remove the semaphore, and retire this adaptor until the call is done.
	context_.hub.semaphores.close(caller().name, semaphore_->id());
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
