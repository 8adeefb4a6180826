#pragma once

#include <cstdint>

namespace ipchub::core {

// The limits in force, shown in the Manager's Limits property. The defaults are far
// above what a normal desktop app uses; ipchubd's command line can change them.
struct Limits {
	uint32_t keyLength = 255;
	uint32_t objectsPerConnection = 4096;
	uint32_t waitsPerConnection = 4096;
	uint32_t waitersPerObject = 65536;
	uint64_t segmentSize = uint64_t{1} << 30;
	uint64_t bytesPerConnection = uint64_t{4} << 30;

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
};

} // namespace ipchub::core
