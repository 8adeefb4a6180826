// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>

namespace ipchub::core {

// The limits in force, shown in the Manager's Limits property. The defaults are far
// above what a normal desktop app uses; ipchubd's command line can change them. Each
// field has its row in limit_table.cpp, which makes the option and the property.
struct Limits {
	uint32_t keyLength = 255;
	uint32_t objectsPerConnection = 4096;
	uint32_t waitsPerConnection = 4096;
	uint32_t waitersPerObject = 65536;
	uint64_t segmentSize = uint64_t{1} << 30;
	uint64_t bytesPerConnection = uint64_t{4} << 30;
	// The change signals: peers told of one object's changes (the watchers, which
	// called GetManagedObjects, are bounded alike), objects one connection is told
	// of, and signals sent to one connection that it has not yet shown it read.
	uint32_t interestedPeersPerObject = 256;
	uint32_t interestsPerConnection = 16384;
	uint32_t unreadSignalsPerConnection = 256;
	// Lock grants one connection may hold, and all connections together.
	uint32_t grantsPerConnection = 4096;
	uint32_t grantsTotal = 262144;
	// Lock handles (AcquireHandle), each two of the service's descriptors while it lasts:
	// per connection, and in total.
	uint32_t handlesPerConnection = 1024;
	uint32_t handlesTotal = 16384;
	// Descriptors kept free below the service's limit (RLIMIT_NOFILE) to receive
	// messages and identify callers: a call that would give out a descriptor is refused
	// once only these are left.
	uint32_t descriptorReserve = 512;
	// Units of a fast semaphore (its max): each is a word of its page, which every
	// release and recovery scans.
	uint32_t fastUnitsMax = 1024;

	// Totals across connections: *PerUid for a user's host connections together,
	// *PerApp for each sandboxed app id's (see account.hpp). Objects are references,
	// bytes are those of the segments created, grants are lock grants held.
	uint32_t objectsPerUid = 65536;
	uint32_t objectsPerApp = 16384;
	uint32_t waitsPerUid = 65536;
	uint32_t waitsPerApp = 16384;
	uint32_t grantsPerUid = 65536;
	uint32_t grantsPerApp = 16384;
	uint64_t bytesPerUid = uint64_t{16} << 30;
	uint64_t bytesPerApp = uint64_t{4} << 30;
	// Persistent objects stay after their creator closed them or left, until Remove,
	// so they count against the creator's account until then: how many, and their
	// bytes (what the saved state keeps of each, plus a segment's size).
	uint32_t persistentObjectsPerUid = 16384;
	uint32_t persistentObjectsPerApp = 4096;
	uint64_t persistentBytesPerUid = uint64_t{4} << 30;
	uint64_t persistentBytesPerApp = uint64_t{1} << 30;
	// What the saved state of all persistent objects may take, for every account
	// together; well under what a restart reads back (kMaxStateBytes in snapshot.hpp).
	uint64_t stateBytes = uint64_t{64} << 20;
	// Descriptors ipchubd may keep in the service manager's fd store: the unit's
	// FileDescriptorStoreMax= (systemd 254 and later tell it in $FDSTORE).
	uint32_t fdStoreMax = 4096;
	// Words of fast objects ipchubd waits on at once for bus-path callers, all
	// connections together (same word and value: one). Fixed: its helper threads'
	// futex_waitv calls hold this many.
	uint32_t fastWaitsTotal = 1016;
};

} // namespace ipchub::core
