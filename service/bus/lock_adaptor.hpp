// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "change_signal.hpp"
#include "context.hpp"
#include "core/lock.hpp"
#include "fast_watch.hpp"
#include "hangup_watch.hpp"
#include "io.github.ipchub1.Lock.adaptor.h"
#include "wait_ticket.hpp"

namespace ipchub::bus {

// io.github.ipchub1.Lock on one lock's object path. Besides the bus glue it owns the
// read ends of the lock's handles and ends a handle's grant when its pipe hangs up.
// Parallels the other object adaptors on purpose (see SemaphoreAdaptor).
class LockAdaptor final
	: public sdbus::AdaptorInterfaces<io::github::ipchub1::Lock_adaptor,
					  sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
public:
	LockAdaptor(sdbus::IConnection &connection, std::string path,
		    std::shared_ptr<core::Lock> lock, Context context);
	~LockAdaptor();

	// What clients see of the object changed: PropertiesChanged goes out (coalesced).
	void changed();

	const core::Lock &lock() const { return *lock_; }

private:
	using HolderStruct =
		sdbus::Struct<std::string, std::string, uint32_t, std::string, uint64_t, uint64_t>;

	void Acquire(sdbus::Result<uint64_t> &&result, std::string mode,
		     uint64_t timeout_usec) override;
	std::tuple<uint64_t, uint64_t> Wait(const std::string &mode,
					    const uint64_t &timeout_usec) override;
	void CancelWait(const uint64_t &ticket) override;
	std::tuple<bool, uint64_t> TryAcquire(const std::string &mode) override;
	void AcquireHandle(sdbus::Result<sdbus::UnixFd, uint64_t> &&result, std::string mode,
			   uint64_t timeout_usec) override;
	void Release() override;
	std::tuple<sdbus::UnixFd, uint32_t, uint32_t> AttachFast() override;
	void Close() override;
	bool Fast() override;
	std::string Key() override;
	std::string Scope() override;
	std::string Mode() override;
	std::vector<HolderStruct> Holders() override;
	// As viewer may see them (context.hpp).
	std::vector<HolderStruct> holders(const Peer *viewer) const;
	// A fast lock's holders, as its page records them.
	std::vector<HolderStruct> fastHolders(const Peer *viewer) const;
	uint32_t Waiters() override;
	uint64_t Token() override;

	const Peer &caller();
	void checkReader() const;
	core::Requester requester();
	// Watches the handle of the grant with this token, and gives the lock a duplicate
	// of watched to keep; when it cannot be watched the grant ends and the error says
	// why.
	Result<void> watchHandle(uint64_t token, sdbus::UnixFd watched);
	// LimitExceeded when a handle of this (persistent) lock would not fit in the fd store.
	Result<void> checkStoreRoom() const;
	// Ends the grant with this token once watched hangs up.
	Result<void> watchEnd(uint64_t token, sdbus::UnixFd watched);
	// Watches the handle ends a restored lock kept.
	void watchRestoredHandles();
	// Lets go of the handles whose grant has ended some other way.
	void pruneHandles();

	std::shared_ptr<core::Lock> lock_;
	Context context_;
	std::map<uint64_t, std::unique_ptr<HangupWatch>> handles_;
	ChangeSignal changes_;
	std::shared_ptr<WaitEndedSender> waitEnded_;
	// A fast lock's word while bus callers wait for it.
	std::unique_ptr<FastWatch> fastWatch_;
};

} // namespace ipchub::bus
