#pragma once

#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hub_snapshot.hpp"
#include "record_file.hpp"

namespace ipchub::core {

enum class ObjectKind {
	Semaphore,
	Lock,
	Segment
};

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
	// when the hub has no persistent object there.
	Result<void> write(ObjectKind kind, const ObjectKey &id);
	// Writes the record of every persistent object of the hub.
	Result<void> writeAll();

private:
	const Hub &hub_;
	RecordFile file_;
	FdNames fdNames_;
	std::map<std::pair<ObjectKind, ObjectKey>, RecordFile::RecordId> ids_;
};

// The newest version of every object in a record file's bytes, as one snapshot.
// Records that do not read are skipped and told in problems; InvalidArgument if the
// bytes are no record file at all.
Result<Snapshot> readStateRecords(std::span<const std::byte> bytes,
				  std::vector<std::string> &problems);

} // namespace ipchub::core
