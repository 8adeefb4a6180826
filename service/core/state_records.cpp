// SPDX-License-Identifier: LGPL-2.1-or-later
#include "state_records.hpp"

namespace ipchub::core {

namespace {

// The snapshot of the one persistent object at id, or nothing if there is none (or a
// shared-memory object whose memfd has no fd name: its record could not be restored).
std::optional<Snapshot> captureOne(const Hub &hub, ObjectKind kind, const ObjectKey &id,
				   const FdNames &fdNames)
{
	Snapshot snapshot;
	switch (kind) {
	case ObjectKind::Semaphore:
		if (auto semaphore = hub.semaphores.find(id);
		    semaphore && hub.semaphores.persistent(id))
			snapshot.semaphores.push_back(captureSemaphore(hub, *semaphore));
		break;
	case ObjectKind::Lock:
		if (auto lock = hub.locks.find(id); lock && hub.locks.persistent(id))
			snapshot.locks.push_back(captureLock(hub, *lock, fdNames));
		break;
	case ObjectKind::SharedMemory:
		if (auto sharedMemory = hub.sharedMemories.find(id);
		    sharedMemory && hub.sharedMemories.persistent(id) && sharedMemory->memfd())
			if (auto record = captureSharedMemory(hub, *sharedMemory, fdNames);
			    !record.fdName.empty())
				snapshot.sharedMemories.push_back(std::move(record));
		break;
	}
	if (snapshot.semaphores.empty() && snapshot.locks.empty() &&
	    snapshot.sharedMemories.empty())
		return std::nullopt;
	return snapshot;
}

} // namespace

StateRecords::StateRecords(const Hub &hub, RecordFile file, FdNames fdNames)
	: hub_(hub), file_(std::move(file)), fdNames_(std::move(fdNames))
{
}

Result<void> StateRecords::write(ObjectKind kind, const ObjectKey &id)
{
	const auto snapshot = captureOne(hub_, kind, id, fdNames_);
	auto at = ids_.find({kind, id});
	if (!snapshot) {
		if (at != ids_.end()) {
			file_.remove(at->second.id);
			payloadBytes_ -= at->second.bytes;
			ids_.erase(at);
		}
		return {};
	}
	const std::string bytes = encodeSnapshot(*snapshot);
	// The saved state stays within state_bytes, which keeps it well under what a
	// restart reads; past it the record's previous version stays.
	const uint64_t others = payloadBytes_ - (at == ids_.end() ? 0 : at->second.bytes);
	const uint64_t limit = hub_.limits().stateBytes;
	if (bytes.size() > limit || others > limit - bytes.size())
		return fail(ErrorCode::LimitExceeded,
			    "the saved state of every persistent object is " +
				    std::to_string(others) + " bytes besides this one; its " +
				    std::to_string(bytes.size()) + " would pass state_bytes " +
				    std::to_string(limit));
	if (at == ids_.end()) {
		auto added = file_.add(bytes);
		if (!added)
			return errorOf(added);
		ids_.emplace(std::pair{kind, id}, Written{*added, bytes.size()});
		payloadBytes_ = others + bytes.size();
		return {};
	}
	auto updated = file_.update(at->second.id, bytes);
	if (!updated)
		return errorOf(updated);
	at->second = {*updated, bytes.size()};
	payloadBytes_ = others + bytes.size();
	return {};
}

Result<void> StateRecords::writeAll()
{
	for (const auto &semaphore : hub_.semaphores.objects())
		if (auto written = write(ObjectKind::Semaphore, semaphore->id()); !written)
			return written;
	for (const auto &lock : hub_.locks.objects())
		if (auto written = write(ObjectKind::Lock, lock->id()); !written)
			return written;
	for (const auto &sharedMemory : hub_.sharedMemories.objects())
		if (auto written = write(ObjectKind::SharedMemory, sharedMemory->id()); !written)
			return written;
	return {};
}

Result<Snapshot> readStateRecords(std::span<const std::byte> bytes,
				  std::vector<std::string> &problems)
{
	auto scan = scanRecords(bytes);
	if (!scan)
		return errorOf(scan);
	if (scan->rejectedSlots > 0)
		problems.push_back(std::to_string(scan->rejectedSlots) +
				   " record versions did not match their checksum (a write cut "
				   "short); their previous versions were read");
	// By kind and key, the newest: a record that moved to a larger block is in both
	// until the old block is freed.
	std::map<std::pair<ObjectKind, ObjectKey>, std::pair<uint64_t, Snapshot>> newest;
	for (const auto &version : scan->records) {
		auto decoded = decodeSnapshot(version.payload);
		if (!decoded) {
			problems.push_back("a record that does not read: " +
					   decoded.error().message);
			continue;
		}
		const size_t objects = decoded->semaphores.size() + decoded->locks.size() +
				       decoded->sharedMemories.size();
		if (objects != 1) {
			problems.push_back("a record of " + std::to_string(objects) +
					   " objects instead of 1");
			continue;
		}
		const auto key =
			!decoded->semaphores.empty()
				? std::pair{ObjectKind::Semaphore, decoded->semaphores[0].info.id}
			: !decoded->locks.empty()
				? std::pair{ObjectKind::Lock, decoded->locks[0].info.id}
				: std::pair{ObjectKind::SharedMemory,
					    decoded->sharedMemories[0].info.id};
		auto &slot = newest[key];
		if (version.sequence > slot.first)
			slot = {version.sequence, std::move(*decoded)};
	}
	Snapshot snapshot;
	for (auto &[key, entry] : newest) {
		auto &one = entry.second;
		std::move(one.semaphores.begin(), one.semaphores.end(),
			  std::back_inserter(snapshot.semaphores));
		std::move(one.locks.begin(), one.locks.end(), std::back_inserter(snapshot.locks));
		std::move(one.sharedMemories.begin(), one.sharedMemories.end(),
			  std::back_inserter(snapshot.sharedMemories));
	}
	return snapshot;
}

} // namespace ipchub::core
