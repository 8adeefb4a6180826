// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "change_signal.hpp"
#include "context.hpp"
#include "core/semaphore.hpp"
#include "fast_watch.hpp"
#include "io.github.ipchub1.Semaphore.adaptor.h"
#include "wait_ticket.hpp"

namespace ipchub::bus {

// io.github.ipchub1.Semaphore on one semaphore's object path. Its constructor,
// destructor, caller check and property getters parallel those of the other object
// adaptors on purpose: each serves its own generated interface (sdbus-c++ 1.2 builds
// one class per interface), with its own properties; what they share is in
// context.hpp, announce.hpp, change_signal.hpp and waits.hpp.
class SemaphoreAdaptor final
	: public sdbus::AdaptorInterfaces<io::github::ipchub1::Semaphore_adaptor,
					  sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor>
{
public:
	SemaphoreAdaptor(sdbus::IConnection &connection, std::string path,
			 std::shared_ptr<core::Semaphore> semaphore, Context context);
	~SemaphoreAdaptor();

	// What clients see of the object changed: PropertiesChanged goes out (coalesced).
	void changed();

	const core::Semaphore &semaphore() const { return *semaphore_; }

private:
	void Acquire(sdbus::Result<> &&result, uint32_t n, uint64_t timeout_usec) override;
	uint64_t Wait(const uint32_t &n, const uint64_t &timeout_usec) override;
	void CancelWait(const uint64_t &ticket) override;
	bool TryAcquire(const uint32_t &n) override;
	void Release(const uint32_t &n) override;
	std::tuple<sdbus::UnixFd, uint32_t, uint32_t, uint32_t, uint32_t> AttachFast() override;
	void Close() override;
	bool Fast() override;
	std::string Key() override;
	std::string Scope() override;
	uint32_t Max() override;
	bool ReturnOnExit() override;
	uint32_t Value() override;
	uint32_t Waiters() override;
	std::vector<sdbus::Struct<std::string, uint32_t>> Holders() override;
	// As viewer may see them (context.hpp).
	std::vector<sdbus::Struct<std::string, uint32_t>> holders(const Peer *viewer) const;

	const Peer &caller();
	void checkReader() const;

	std::shared_ptr<core::Semaphore> semaphore_;
	Context context_;
	ChangeSignal changes_;
	std::shared_ptr<WaitEndedSender> waitEnded_;
	// A fast semaphore's seq word while bus callers wait for units.
	std::unique_ptr<FastWatch> fastWatch_;
};

} // namespace ipchub::bus
