// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client.hpp"
#include "fast/layout.hpp"
#include "fast_owners.hpp"
#include "fast_page.hpp"

namespace ipchub::core {

// A fast semaphore's page as ipchubd uses it: what it does there for callers through
// the bus (under their owner ids, thread slot 0: a connection has one bus thread of
// control), what it reads there for the properties, and the recovery of a connection
// that is gone. The page holds the truth: clients take and give units there without
// ipchubd. Every loop runs over the units ipchubd's own table gives (max), never a
// count read from the page.
class FastSemaphore
{
public:
	// Connections that may attach to one semaphore at once, ipchubd's own slot included.
	static constexpr uint32_t kAttachSlots = 256;

	struct Attached {
		uint32_t owner;
		uint32_t attach;
	};

	// units: the semaphore's max; initial of them free, the rest ABSENT. consumes: the
	// semaphore's acquired units are consumed (return_on_exit false).
	static Result<std::unique_ptr<FastSemaphore>> create(const std::string &name,
							     uint32_t units, uint32_t initial,
							     bool consumes, FastOwners &owners);

	const FastPage &page() const { return *page_; }
	fast::SemaphoreShape shape() const { return shape_; }
	const fast::SemaphoreView &view() const { return view_; }

	// The caller's owner id and attach slot (AttachFast); what names it in errors.
	Result<Attached> attach(const ClientId &client, const std::string &what);
	// Takes n units for client, all of them or none.
	Result<bool> take(const ClientId &client, uint32_t n);
	// Gives back up to n of the units client holds through its owner id's slot 0, and
	// posts the rest (ABSENT units become free): LimitExceeded, and nothing changed, when
	// fewer units are ABSENT than the rest.
	Result<void> give(const ClientId &client, uint32_t n);
	// client is gone (or closed the semaphore): its held words become DIED (free), its
	// sleepers are taken out of the waiter count, every sleeper is woken, and its attach
	// slot is freed.
	void recover(const ClientId &client);

	uint32_t value() const;
	// Sleepers on the page, not counting ipchubd's own count for bus waits.
	uint32_t pageWaiters() const;
	// (connection, units held) by owner id; words of unknown owners are left out.
	std::vector<std::pair<ClientId, uint32_t>> holders() const;
	// Whether client's words on the page hold units.
	uint32_t heldBy(const ClientId &client) const;

	// ipchubd has bus waits queued (or none any more): it counts one sleeper in nwait
	// and its own attach slot, so that releases on the page wake the word it watches.
	void setWaiting(bool waiting);
	// What ipchubd watches while waiting: seq, with the value read before its last try.
	fast::Word &seqWord() const { return view_.seq(); }
	uint32_t seq() const { return view_.seq().load(std::memory_order_seq_cst); }

private:
	FastSemaphore(std::unique_ptr<FastPage> page, fast::SemaphoreShape shape, bool consumes,
		      FastOwners &owners);
	uint32_t tokenOf(uint32_t owner) const;

	std::unique_ptr<FastPage> page_;
	fast::SemaphoreShape shape_;
	fast::SemaphoreView view_;
	bool consumes_;
	FastOwners &owners_;
	bool waiting_ = false;
};

} // namespace ipchub::core
