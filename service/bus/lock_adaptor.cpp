// SPDX-License-Identifier: LGPL-2.1-or-later
#include "lock_adaptor.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <variant>
#include <vector>

#include "announce.hpp"
#include "core/access.hpp"
#include "descriptor_reserve.hpp"
#include "errors.hpp"
#include "fast_scope.hpp"
#include "pending_reply.hpp"
#include "waits.hpp"

namespace ipchub::bus {

namespace {

std::string modeName(std::optional<core::LockMode> mode)
{
	return mode ? std::string(core::lockModeName(*mode)) : "unlocked";
}

// A grant of lock in mode for who, in the shape of waits.hpp.
struct GrantRequest {
	using Grant = uint64_t;

	const std::shared_ptr<core::Lock> &lock;
	const core::Requester &who;
	core::LockMode mode;
	bool handle;

	Result<Grant> now() const { return lock->acquireNow(who, mode, handle); }
	Result<std::optional<Grant>> tryNow() const
	{
		if (auto room = lock->room(who.client, handle); !room)
			return errorOf(room);
		return lock->tryAcquire(who, mode, handle);
	}
	Result<WaitAttempt<Grant>> queue(const WaitDone<Grant> &done) const
	{
		auto attempt = lock->acquire(who, mode, handle, done);
		if (!attempt)
			return errorOf(attempt);
		if (const auto *granted = std::get_if<core::Granted>(&*attempt))
			return granted->token;
		return QueuedWait{std::get<core::Queued>(*attempt).id};
	}
	std::function<void(core::WaitId)> expire(uint64_t timeoutUsec) const
	{
		return [weak = std::weak_ptr(lock), mode = mode, timeoutUsec](core::WaitId id) {
			if (auto lock = weak.lock())
				lock->cancelWait(id, core::Lock::timedOut(mode, timeoutUsec));
		};
	}
};

} // namespace

LockAdaptor::LockAdaptor(sdbus::IConnection &connection, std::string path,
			 std::shared_ptr<core::Lock> lock, Context context)
	: AdaptorInterfaces(connection, std::move(path)), lock_(std::move(lock)), context_(context),
	  changes_(getObject(), Lock_adaptor::INTERFACE_NAME, context.loop, context.delivery,
		   lock_->info(),
		   [this](ChangedProperties &changed) {
			   changed.add("Mode", modeName(lock_->mode()));
			   changed.addArray("Holders", holders(&changed.recipient()));
			   changed.add("Waiters", lock_->waiters());
			   changed.add("Token", lock_->token());
		   }),
	  waitEnded_(std::make_shared<WaitEndedSender>(getObject(), Lock_adaptor::INTERFACE_NAME))
{
	if (lock_->fast())
		fastWatch_ = std::make_unique<FastWatch>(context_.loop,
							 [this] { lock_->pageChanged(); });
	registerAdaptor();
	watchRestoredHandles();
	announceAdded(*context_.manager, context_.delivery, lock_->info(),
		      getObject().getObjectPath(), Lock_adaptor::INTERFACE_NAME,
		      {{"Key", sdbus::Variant(Key())},
		       {"Scope", sdbus::Variant(Scope())},
		       {"Fast", sdbus::Variant(Fast())},
		       {"Mode", sdbus::Variant(Mode())},
		       {"Holders", sdbus::Variant(Holders())},
		       {"Waiters", sdbus::Variant(Waiters())},
		       {"Token", sdbus::Variant(Token())}});
}

// The destructor, caller check, Close and the property getters parallel those of the
// other object adaptors on purpose (see SemaphoreAdaptor in semaphore_adaptor.hpp).
LockAdaptor::~LockAdaptor()
{
	fastWatch_.reset();
	waitEnded_->detach();
	handles_.clear();
	announceRemoved(*context_.manager, context_.delivery, lock_->info(),
			getObject().getObjectPath(), Lock_adaptor::INTERFACE_NAME);
	unregisterAdaptor();
}

void LockAdaptor::changed()
{
	if (fastWatch_)
		fastWatch_->follow(lock_->fast()->word(), lock_->watchedWord());
	pruneHandles();
	changes_.schedule();
}

void LockAdaptor::checkReader() const
{
	checkPropertyReader(context_.peers, lock_->info(), "lock \"" + lock_->id().key + "\"");
}

const Peer &LockAdaptor::caller()
{
	const Peer &peer = currentCaller(getObject(), context_);
	unwrap(core::access::checkUse(peer.appId, lock_->info(),
				      "lock \"" + lock_->id().key + "\""));
	return peer;
}

core::Requester LockAdaptor::requester()
{
	const Peer &peer = caller();
	return {peer.name, static_cast<uint32_t>(peer.pid), peer.appId};
}

void LockAdaptor::Acquire(sdbus::Result<uint64_t> &&result, std::string mode, uint64_t timeout_usec)
{
	const auto who = requester();
	const auto lockMode = unwrap(core::parseLockMode(mode));
	auto pending = std::make_shared<PendingReply<uint64_t>>(std::move(result));
	waitThenAnswer(GrantRequest{lock_, who, lockMode, false}, context_.loop, timeout_usec,
		       pending->timer, [pending](Result<uint64_t> outcome) {
			       outcome ? pending->succeed(*outcome)
				       : pending->fail(outcome.error());
		       });
}

std::tuple<uint64_t, uint64_t> LockAdaptor::Wait(const std::string &mode,
						 const uint64_t &timeout_usec)
{
	const auto who = requester();
	const auto lockMode = unwrap(core::parseLockMode(mode));
	return waitForTicket(GrantRequest{lock_, who, lockMode, false}, context_.loop, timeout_usec,
			     waitEnded_, who.client);
}

void LockAdaptor::CancelWait(const uint64_t &ticket)
{
	cancelTicket(*lock_, ticket, caller().name);
}

std::tuple<bool, uint64_t> LockAdaptor::TryAcquire(const std::string &mode)
{
	const auto who = requester();
	const auto lockMode = unwrap(core::parseLockMode(mode));
	unwrap(lock_->room(who.client, false));
	auto token = lock_->tryAcquire(who, lockMode, false);
	return {token.has_value(), token.value_or(0)};
}

void LockAdaptor::AcquireHandle(sdbus::Result<sdbus::UnixFd, uint64_t> &&result, std::string mode,
				uint64_t timeout_usec)
{
	const auto who = requester();
	const auto lockMode = unwrap(core::parseLockMode(mode));
	// Checked before a pipe is made for it.
	unwrap(lock_->room(who.client, true));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve, "a lock handle"));
	unwrap(checkStoreRoom());
	auto pipe = std::make_shared<HandlePipe>(unwrap(makeHandlePipe()));
	auto pending = std::make_shared<PendingReply<sdbus::UnixFd, uint64_t>>(std::move(result));
	waitThenAnswer(GrantRequest{lock_, who, lockMode, true}, context_.loop, timeout_usec,
		       pending->timer, [this, pending, pipe](Result<uint64_t> outcome) {
			       if (!outcome)
				       return pending->fail(outcome.error());
			       if (auto watched = watchHandle(*outcome, std::move(pipe->watched));
				   !watched)
				       return pending->fail(watched.error());
			       pending->succeed(pipe->given, *outcome);
			       // The reply carries its own copy; ours must go, or the pipe
			       // never hangs up.
			       pipe->given = sdbus::UnixFd();
		       });
}

Result<void> LockAdaptor::checkStoreRoom() const
{
	// The handle's end of a persistent lock goes to the fd store.
	if (!context_.hub.locks.persistent(lock_->id()))
		return {};
	return context_.hub.storeBudget.checkRoom("a handle of a persistent lock");
}

Result<void> LockAdaptor::watchHandle(uint64_t token, sdbus::UnixFd watched)
{
	// A grant that waited may find the room taken meanwhile.
	if (auto room = checkStoreRoom(); !room) {
		lock_->releaseGrant(token);
		return room;
	}
	// The lock keeps its own copy of the service's end, which the fd store keeps
	// across a restart: the restored service watches it again.
	UniqueFd end(fcntl(watched.get(), F_DUPFD_CLOEXEC, 3));
	const int error = errno;
	if (!end) {
		lock_->releaseGrant(token);
		return fail(ErrorCode::Failed,
			    std::string("cannot keep a lock handle: fcntl(F_DUPFD_CLOEXEC): ") +
				    std::strerror(error));
	}
	if (auto watch = watchEnd(token, std::move(watched)); !watch) {
		lock_->releaseGrant(token);
		return watch;
	}
	lock_->keepHandleEnd(token, std::move(end));
	return {};
}

Result<void> LockAdaptor::watchEnd(uint64_t token, sdbus::UnixFd watched)
{
	auto watch = HangupWatch::watch(context_.loop, std::move(watched), [this, token] {
		// Every copy of the handle is closed: its grant ends. Releasing prunes the
		// watch; erase it anyway for a grant that had ended already.
		lock_->releaseGrant(token);
		handles_.erase(token);
	});
	if (!watch)
		return errorOf(watch);
	handles_.insert_or_assign(token, std::move(*watch));
	return {};
}

void LockAdaptor::watchRestoredHandles()
{
	std::vector<std::pair<uint64_t, int>> ends;
	for (const auto &[token, end] : lock_->handleEnds())
		ends.emplace_back(token, end.get());
	for (const auto &[token, end] : ends) {
		// A handle closed while the service was away hangs up at once.
		if (auto watch = watchEnd(token, sdbus::UnixFd(end)); !watch)
			std::cerr << "ipchubd: the handle of grant " << token << " of lock \""
				  << lock_->id().key << "\" is held by its unique name alone: "
				  << watch.error().message << "\n";
	}
}

void LockAdaptor::pruneHandles()
{
	std::erase_if(handles_, [this](const auto &entry) { return !lock_->holds(entry.first); });
}

void LockAdaptor::Release()
{
	unwrap(lock_->release(caller().name));
}

// Parallels SemaphoreAdaptor::AttachFast on purpose: the same checks, each kind's own
// reply (a lock's page has reader slots, a semaphore's units and attach slots).
std::tuple<sdbus::UnixFd, uint32_t, uint32_t> LockAdaptor::AttachFast()
{
	const Peer &peer = caller();
	const std::string what = "lock \"" + lock_->id().key + "\"";
	if (!lock_->fast())
		throw toDbusError({ErrorCode::InvalidArgument, what + " is not a fast object"});
	unwrap(checkFastScope(peer, lock_->info(), what));
	unwrap(checkDescriptorReserve(context_.hub.limits().descriptorReserve, "a fast page"));
	const uint32_t owner = unwrap(lock_->attachFast(peer.name));
	return {sdbus::UnixFd(lock_->fast()->page().fd()), owner,
		lock_->fast()->shape().readerSlots};
}

void LockAdaptor::Close()
{
	// This may remove the lock, and retire this adaptor until the call is done.
	context_.hub.locks.close(caller().name, lock_->id());
}

bool LockAdaptor::Fast()
{
	checkReader();
	return lock_->fast() != nullptr;
}

std::string LockAdaptor::Key()
{
	checkReader();
	return lock_->id().key;
}

std::string LockAdaptor::Scope()
{
	checkReader();
	return lock_->id().scope;
}

std::string LockAdaptor::Mode()
{
	checkReader();
	return modeName(lock_->mode());
}

std::vector<LockAdaptor::HolderStruct> LockAdaptor::Holders()
{
	checkReader();
	return holders(propertyViewer(context_.peers));
}

std::vector<LockAdaptor::HolderStruct> LockAdaptor::holders(const Peer *viewer) const
{
	if (lock_->fast())
		return fastHolders(viewer);
	std::vector<HolderStruct> holders;
	for (const auto &[token, grant] : lock_->grants()) {
		const bool details = seesHolderDetails(viewer, grant.holder.appId);
		holders.emplace_back(details ? grant.holder.client
					     : holderLabel(&grant.holder.appId),
				     std::string(core::lockModeName(grant.mode)),
				     details ? grant.holder.pid : 0u, grant.holder.appId, token,
				     grant.acquiredAtUsec);
	}
	return holders;
}

std::vector<LockAdaptor::HolderStruct> LockAdaptor::fastHolders(const Peer *viewer) const
{
	// The page says who holds the lock; a grant made through the bus adds its token
	// and time, a peer identified adds its pid and app id.
	std::vector<HolderStruct> holders;
	for (const auto &[client, mode] : lock_->fast()->holders()) {
		uint64_t token = 0, acquiredAt = 0;
		for (const auto &[grantToken, grant] : lock_->grants())
			if (grant.holder.client == client && grant.mode == mode) {
				token = grantToken;
				acquiredAt = grant.acquiredAtUsec;
			}
		const Peer *peer = context_.peers.find(client);
		const std::string appId = peer ? peer->appId : std::string();
		const bool details = peer && seesHolderDetails(viewer, appId);
		holders.emplace_back(details ? client : holderLabel(peer ? &peer->appId : nullptr),
				     std::string(core::lockModeName(mode)),
				     details ? static_cast<uint32_t>(peer->pid) : 0u, appId, token,
				     acquiredAt);
	}
	return holders;
}

uint32_t LockAdaptor::Waiters()
{
	checkReader();
	return lock_->waiters();
}

uint64_t LockAdaptor::Token()
{
	checkReader();
	return lock_->token();
}

} // namespace ipchub::bus
