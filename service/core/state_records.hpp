// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/object_kind.hpp"
#include "hub_snapshot.hpp"
#include "observer.hpp"
#include "record_file.hpp"

namespace ipchub::core {

using ipchub::ObjectKind;

// The persistent objects of a hub kept in a RecordFile, one record per object, so a
// change of one object rewrites that object's record alone. A record is the snapshot
// (snapshot.hpp) of its one object: it reads with the same checks and version rules.
class StateRecords
{
public:
	StateRecords(const Hub &hub, RecordFile file, FdNames fdNames);

	const RecordFile &file() const { return file_; }
	size_t size() const { return ids_.size(); }

	// Writes the record of the object at id as the hub has it now, or ends the record
	// when the hub has no persistent object there. LimitExceeded naming state_bytes,
	// and the record's previous version kept, when the records' payloads together
	// would pass the hub's state_bytes.
	Result<void> write(ObjectKind kind, const ObjectKey &id);
	// The payload bytes of every record together.
	uint64_t payloadBytes() const { return payloadBytes_; }
	// Writes the record of every persistent object of the hub.
	Result<void> writeAll();

private:
	const Hub &hub_;
	RecordFile file_;
	FdNames fdNames_;
	struct Written {
		RecordFile::RecordId id;
		uint64_t bytes;
	};
	std::map<std::pair<ObjectKind, ObjectKey>, Written> ids_;
	uint64_t payloadBytes_ = 0;
};

// The newest version of every object in a record file's bytes, as one snapshot.
// Records that do not read are skipped and told in problems; InvalidArgument if the
// bytes are no record file at all.
Result<Snapshot> readStateRecords(std::span<const std::byte> bytes,
				  std::vector<std::string> &problems);

} // namespace ipchub::core
