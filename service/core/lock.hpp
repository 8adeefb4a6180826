// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client.hpp"
#include "common/lock_mode.hpp"
#include "common/unique_fd.hpp"
#include "fast_lock.hpp"
#include "grant_quota.hpp"
#include "key.hpp"
#include "observer.hpp"
#include "quota.hpp"
#include "wait_queue.hpp"

namespace ipchub::core {

// The library's LockMode and the modes' bus names (common/lock_mode.hpp), by the names
// core has always used.
using common::lockModeName;
using common::parseLockMode;
using ipchub::LockMode;

// Who asks for a grant. The bus layer knows the pid and app id; the lock only shows
// them in its holders.
struct Requester {
	ClientId client;
	uint32_t pid = 0;
	std::string appId;
};

// One grant of the lock. Its token identifies it: tokens are never reused.
struct LockGrant {
	Requester holder;
	LockMode mode;
	uint64_t token;
	// Microseconds of CLOCK_REALTIME when it was granted.
	uint64_t acquiredAtUsec;
	// Held through a handle: it ends when the handle hangs up, or by Release only
	// once the holder has no plain grant left.
	bool handle;
};

// What acquire did: granted at once with a token, or queued as a wait.
struct Granted {
	uint64_t token;
};
struct Queued {
	WaitId id;
};
using Attempt = std::variant<Granted, Queued>;

// A named readers-writer lock. Readers share it, a writer is alone, and waits are
// served strictly in arrival order: a shared request is granted at once only when
// nobody waits, so a queued writer is never starved by readers arriving after it.
// Every grant gets a fencing token larger than every token before it.
class Lock
{
public:
	static constexpr ObjectKind kKind = ObjectKind::Lock;

	// Called with the fencing token of the grant, or the error that ended the wait.
	using Done = std::function<void(Result<uint64_t>)>;

	// grants counts this lock's grants against their holders' limits (none if null).
	// fast: the page of a fast lock, made for it; its words say who holds the lock.
	Lock(ObjectInfo info, Quota &quota, GrantQuota *grants = nullptr,
	     std::unique_ptr<FastLock> fast = nullptr);
	~Lock();
	Lock(const Lock &) = delete;
	Lock &operator=(const Lock &) = delete;

	const ObjectKey &id() const { return info_.id; }
	const ObjectInfo &info() const { return info_; }
	// nullopt when nobody holds the lock.
	std::optional<LockMode> mode() const;
	const std::map<uint64_t, LockGrant> &grants() const { return grants_; }
	bool holds(uint64_t token) const { return grants_.contains(token); }
	uint32_t waiters() const { return static_cast<uint32_t>(queue_.size()); }
	// The token of the latest grant; 0 before the first.
	uint64_t token() const { return fast_ ? fast_->token() : lastToken_; }
	// The page, for a fast lock; nullptr otherwise. On a fast lock grants() holds the
	// grants made through the bus, the page holds every holder.
	FastLock *fast() const { return fast_.get(); }
	// A fast lock's connection attaches to the page: its owner id.
	Result<uint32_t> attachFast(const ClientId &client);
	// A fast lock's page changed (its watched word was woken): bus waits are tried again.
	void pageChanged();
	// What ipchubd watches on a fast lock's word while bus waits are queued: the value
	// the word had with WAITERS set. nullopt when nothing waits.
	std::optional<uint32_t> watchedWord() const { return watchedWord_; }
	// The service's ends of the handle grants' pipes, by token: what keeps a handle
	// grant tied to its handle across a restart of the service.
	const std::map<uint64_t, UniqueFd> &handleEnds() const { return handleEnds_; }

	// Told of every change of holders, waiters or token (changed), of grants or token
	// (stateChanged) and of the clients it keeps (touched).
	void setEvents(ObjectEvents *events) { events_ = events; }

	// Restoring a snapshot: the grants, the ends of their handles and the latest
	// token as they were. Tokens continue above lastToken.
	void restore(uint64_t lastToken, std::vector<LockGrant> grants,
		     std::map<uint64_t, UniqueFd> handleEnds);

	// Whether client may hold one more grant: its connection's and the service's
	// (GrantQuota), and its account's (Quota::checkGrant). Every way to a grant checks it.
	Result<void> room(const ClientId &client, bool handle) const;
	// A token if the lock can be granted now, nobody waits and client has room for
	// the grant; nullopt otherwise.
	std::optional<uint64_t> tryAcquire(const Requester &who, LockMode mode, bool handle);
	// The same, for a caller that will not wait (a timeout of 0): the refusal of room,
	// else WouldBlock when the lock cannot be granted now.
	Result<uint64_t> acquireNow(const Requester &who, LockMode mode, bool handle);
	// What a wait in mode that timed out after timeoutUsec ends with.
	static Error timedOut(LockMode mode, uint64_t timeoutUsec);
	// Grants now, or queues a wait whose done is called when it ends.
	Result<Attempt> acquire(const Requester &who, LockMode mode, bool handle, Done done);
	// Ends a queued wait with error (a timeout); nothing if it has ended already.
	void cancelWait(WaitId id, Error error);
	// Whether the queued wait with this id is client's (a ticket it may cancel).
	bool isWaitOf(WaitId id, const ClientId &client) const
	{
		return queue_.isWaitOf(id, client);
	}
	// Ends one grant of client: its newest plain grant, else its newest handle grant.
	Result<void> release(const ClientId &client);
	// Ends the grant with this token (its handle hung up); false if it ended already.
	bool releaseGrant(uint64_t token);
	// Keeps end, the service's end of the pipe of the handle grant with this token,
	// until the grant ends. False (end is closed) if there is no such handle grant.
	bool keepHandleEnd(uint64_t token, UniqueFd end);
	// The client closed (cancel its waits with Cancelled) or left the bus (drop them
	// silently): its grants end either way.
	void dropClient(const ClientId &client, bool closing);
	// The lock is being removed: every wait ends with error.
	void end(const Error &error);

private:
	struct Request {
		Requester who;
		LockMode mode;
		bool handle;
	};

	bool grantable(LockMode mode) const;
	uint64_t grant(const Requester &who, LockMode mode, bool handle,
		       std::optional<uint64_t> pageToken = std::nullopt);
	// What acquireNow and acquire try first: a grant at once (its token), or nullopt
	// when the lock is held or others wait; errors for a caller past its room.
	Result<std::optional<uint64_t>> grantNow(const Requester &who, LockMode mode, bool handle);
	// A fast lock's grant on the page, recorded as a grant: its token, or nullopt when
	// the page holds the lock for others.
	Result<std::optional<uint64_t>> grantFast(const Requester &who, LockMode mode, bool handle);
	// Gives the grant's hold on a fast lock's page back.
	Result<void> ungrantFast(const LockGrant &grant);
	void serveFast();
	// Every grant counts against its holder's account until it ends.
	void endGrant(std::map<uint64_t, LockGrant>::iterator grant);
	void endAllGrants();
	void serve();
	void notify();
	void persist(bool tellsClient);
	// Closes the handle ends of grants that have ended.
	void dropEndedHandles();
	// The grant quota forgets the grant; call before it is erased.

	ObjectInfo info_;
	// By token, so oldest first.
	std::map<uint64_t, LockGrant> grants_;
	std::map<uint64_t, UniqueFd> handleEnds_;
	WaitQueue<Request, uint64_t> queue_;
	uint64_t lastToken_ = 0;
	GrantQuota *grantQuota_;
	ObjectEvents *events_ = nullptr;
	Quota &quota_;
	std::unique_ptr<FastLock> fast_;
	std::optional<uint32_t> watchedWord_;
};

} // namespace ipchub::core
