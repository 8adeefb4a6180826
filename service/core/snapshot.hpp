// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "account.hpp"
#include "client.hpp"
#include "key.hpp"
#include "lock.hpp"

namespace ipchub::core {

// What survives a restart of the service: its persistent objects, their state and
// who held what, by unique name. Waits in flight and non-persistent objects are not
// kept. The bytes of a segment are not here: its memfd is kept beside the snapshot,
// under fdName.
struct SemaphoreRecord {
	ObjectInfo info;
	// Whose account the object counts against.
	Account owner;
	uint32_t value = 0;
	uint32_t max = 0;
	bool returnOnExit = true;
	std::vector<ClientId> refs;
	std::vector<std::pair<ClientId, uint32_t>> holders;
	// A fast semaphore: restored with a new page (version 4).
	bool fast = false;
};

struct LockRecord {
	ObjectInfo info;
	Account owner;
	uint64_t lastToken = 0;
	std::vector<ClientId> refs;
	std::vector<LockGrant> grants;
	// The fd names under which the service's ends of handle grants' pipes are kept,
	// by token; a handle grant without one is held by its unique name alone.
	std::map<uint64_t, std::string> handleFdNames;
	// A fast lock: restored with a new page (version 4).
	bool fast = false;
};

struct SegmentRecord {
	ObjectInfo info;
	Account owner;
	uint64_t size = 0;
	bool sealed = false;
	std::string fdName;
	ClientId creator;
	std::vector<ClientId> refs;
	std::vector<ClientId> attached;
	std::optional<ClientId> lockHolder;
};

struct Snapshot {
	// Grows with every snapshot a service writes, across restarts: of two snapshots
	// left behind, the larger is the newer.
	uint64_t generation = 0;
	std::vector<SemaphoreRecord> semaphores;
	std::vector<LockRecord> locks;
	std::vector<SegmentRecord> segments;
};

// Version 2 added the fd names of handle ends, version 3 each object's owner (read
// from older versions as the service's uid and the object's scope) and whether a
// segment's listed apps may write; version 1 and 2 snapshots still read.
inline constexpr uint32_t kSnapshotVersion = 4;
inline constexpr uint32_t kOldestSnapshotVersion = 1;

// The binary form: a magic, the version, length-prefixed fields in little endian and
// a checksum of it all. See docs/persistence.md.
std::string encodeSnapshot(const Snapshot &snapshot);
// Rejects anything that is not a whole, consistent snapshot of a version it reads with
// InvalidArgument naming what is wrong; never reads past bytes.
Result<Snapshot> decodeSnapshot(std::string_view bytes);

} // namespace ipchub::core
