// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hub.hpp"
#include "snapshot.hpp"

namespace ipchub::core {

// How the fds kept beside a snapshot are named: the memfd of each persistent shared-memory object,
// and the service's end of each handle grant's pipe (empty: not kept).
struct FdNames {
	std::function<std::string(const SharedMemory &)> sharedMemory;
	std::function<std::string(const Lock &, uint64_t token)> handle;
};

// The persistent objects of hub as a snapshot, with the fd names of fdNames.
Snapshot captureSnapshot(const Hub &hub, const FdNames &fdNames);
// One object of hub, as captureSnapshot keeps it.
SemaphoreRecord captureSemaphore(const Hub &hub, const Semaphore &semaphore);
LockRecord captureLock(const Hub &hub, const Lock &lock, const FdNames &fdNames);
SharedMemoryRecord captureSharedMemory(const Hub &hub, const SharedMemory &sharedMemory,
				       const FdNames &fdNames);

struct RestoreHooks {
	// Whether the connection with this unique name is still on the bus: only those
	// keep what they held and referenced.
	std::function<bool(const ClientId &)> isPresent;
	// The memfd kept under fdName, taken out of the store; empty if there is none.
	std::function<UniqueFd(const std::string &fdName)> takeFd;
	// Told of every restored shared-memory object with the fd name it was kept under.
	std::function<void(const SharedMemory &, const std::string &fdName)> sharedMemoryRestored;
	// Told of every restored handle end with the fd name it was kept under.
	std::function<void(const Lock &, uint64_t token, const std::string &fdName)> handleRestored;
};

// Takes the snapshot's objects into hub. What cannot be restored (a shared-memory object without
// its memfd, an object that exists already) is skipped; the messages say what and why.
std::vector<std::string> restoreSnapshot(Hub &hub, const Snapshot &snapshot,
					 const RestoreHooks &hooks);

} // namespace ipchub::core
