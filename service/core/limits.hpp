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
	// The change signals: peers told of one object's changes (the watchers, which
	// called GetManagedObjects, are bounded alike), objects one connection is told
	// of, and signals sent to one connection that it has not yet shown it read.
	uint32_t interestedPeersPerObject = 256;
	uint32_t interestsPerConnection = 16384;
	uint32_t unreadSignalsPerConnection = 256;
};

} // namespace ipchub::core
