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
	// Descriptors ipchubd may keep in the service manager's fd store: the unit's
	// FileDescriptorStoreMax= (systemd 254 and later tell it in $FDSTORE).
	uint32_t fdStoreMax = 4096;
};

} // namespace ipchub::core
