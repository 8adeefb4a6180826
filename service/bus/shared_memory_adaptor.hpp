// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <string>
#include <tuple>

#include <sdbus-c++/sdbus-c++.h>

#include "change_signal.hpp"
#include "context.hpp"
#include "core/shared_memory.hpp"
#include "io.github.ipchub1.SharedMemory.adaptor.h"
#include "wait_ticket.hpp"

namespace ipchub::bus {

// A core descriptor handed to sdbus-c++ for a reply, without one more dup.
sdbus::UnixFd toUnixFd(UniqueFd fd);

// io.github.ipchub1.SharedMemory on one shared-memory object's object path. Parallels the other
// object adaptors on purpose (see SemaphoreAdaptor).
class SharedMemoryAdaptor final
	: public sdbus::AdaptorInterfaces<io::github::ipchub1::SharedMemory_adaptor,
					  sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
public:
	SharedMemoryAdaptor(sdbus::IConnection &connection, std::string path,
			    std::shared_ptr<core::SharedMemory> sharedMemory, Context context);
	~SharedMemoryAdaptor();

	// What clients see of the object changed: PropertiesChanged goes out (coalesced).
	void changed() { changes_.schedule(); }

	const core::SharedMemory &sharedMemory() const { return *sharedMemory_; }

private:
	std::tuple<sdbus::UnixFd, uint64_t> Attach(const bool &writable) override;
	void Seal() override;
	void Lock(sdbus::Result<> &&result, uint64_t timeout_usec) override;
	uint64_t WaitLock(const uint64_t &timeout_usec) override;
	void CancelWait(const uint64_t &ticket) override;
	void Unlock() override;
	void Close() override;
	std::string Key() override;
	std::string Scope() override;
	uint64_t Size() override;
	uint32_t Attachments() override;
	bool Sealed() override;
	std::string LockHolder() override;
	// As viewer may see it (context.hpp); "" when nobody holds the lock.
	std::string lockHolder(const Peer *viewer) const;
	uint32_t LockWaiters() override;

	const Peer &caller();
	void checkReader() const;

	std::shared_ptr<core::SharedMemory> sharedMemory_;
	Context context_;
	ChangeSignal changes_;
	std::shared_ptr<WaitEndedSender> waitEnded_;
};

} // namespace ipchub::bus
