// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client.hpp"
#include "common/lock_mode.hpp"
#include "fast/layout.hpp"
#include "fast_owners.hpp"
#include "fast_page.hpp"

namespace ipchub::core {

// A fast lock's page as ipchubd uses it (see FastSemaphore): grants for callers
// through the bus under their owner ids (thread slot 0), the properties read from the
// page, the fencing token counter, and the recovery of a connection that is gone.
class FastLock
{
public:
	// Shared holders on the page at once.
	static constexpr uint32_t kReaderSlots = 64;
	// Connections attached to one lock at once.
	static constexpr uint32_t kAttachSlots = 4096;

	// lastToken: the fencing tokens handed out before (a restored lock's), so that
	// tokens keep growing.
	static Result<std::unique_ptr<FastLock>> create(const std::string &name, uint64_t lastToken,
							FastOwners &owners);

	const FastPage &page() const { return *page_; }
	fast::LockShape shape() const { return {kReaderSlots}; }
	const fast::LockView &view() const { return view_; }

	// The caller's owner id (AttachFast).
	Result<uint32_t> attach(const ClientId &client, const std::string &what);
	// Takes the word for client in mode now: the grant's fencing token, or nullopt when
	// it is held. InvalidArgument when client holds it already (one grant per
	// connection: its owner id and slot 0 are one holder on the page).
	Result<std::optional<uint64_t>> tryGrant(const ClientId &client, LockMode mode);
	// Restoring a grant on a new page: client holds it in mode again, with no new token.
	void restoreHold(const ClientId &client, LockMode mode);
	// Gives back client's hold in mode: NotHeld when the page no longer records it.
	Result<void> ungrant(const ClientId &client, LockMode mode);
	// client is gone (or closed the lock): its words become DIED, every sleeper is
	// woken, and it is no longer attached.
	void recover(const ClientId &client);

	std::optional<LockMode> mode() const;
	// (connection, mode) of each holder the page records under a known owner id.
	std::vector<std::pair<ClientId, LockMode>> holders() const;
	// The latest fencing token.
	uint64_t token() const { return view_.token().load(std::memory_order_seq_cst); }

	// ipchubd has bus waits queued: it sets WAITERS on a held word, so that the unlock
	// wakes it. The value to watch; nullopt when the word is free (try again).
	std::optional<uint32_t> armWait();
	// ipchubd waits no more: a wake-up it may have taken goes on to a sleeper.
	void stopWaiting();
	fast::Word &word() const { return view_.word(); }

private:
	FastLock(std::unique_ptr<FastPage> page, FastOwners &owners);
	uint64_t nextToken();

	std::unique_ptr<FastPage> page_;
	fast::LockView view_;
	FastOwners &owners_;
	// The latest token ipchubd handed out: a scribbled counter never makes it repeat one.
	uint64_t lastToken_ = 0;
	bool waiting_ = false;
};

} // namespace ipchub::core
