// SPDX-License-Identifier: LGPL-2.1-or-later
#include "snapshot.hpp"

#include <cstring>
#include <unistd.h>

namespace ipchub::core {

namespace {

constexpr std::string_view kMagic = "IPCHUBST";

// FNV-1a: enough to tell a whole snapshot from garbage or a torn copy.
uint64_t checksum(std::string_view bytes)
{
	uint64_t hash = 0xcbf29ce484222325ULL;
	for (unsigned char byte : bytes) {
		hash ^= byte;
		hash *= 0x100000001b3ULL;
	}
	return hash;
}

class Writer
{
public:
	void u8(uint8_t value) { bytes_.push_back(static_cast<char>(value)); }
	void u32(uint32_t value) { little(value, 4); }
	void u64(uint64_t value) { little(value, 8); }
	void string(std::string_view text)
	{
		u32(static_cast<uint32_t>(text.size()));
		bytes_.append(text);
	}
	void strings(const std::vector<std::string> &texts)
	{
		u32(static_cast<uint32_t>(texts.size()));
		for (const auto &text : texts)
			string(text);
	}
	void info(const ObjectInfo &info, const Account &owner)
	{
		string(info.id.scope);
		string(info.id.key);
		strings(info.allowedApps);
		u32(owner.uid);
		string(owner.appId);
	}
	std::string finish()
	{
		u64(checksum(bytes_));
		return std::move(bytes_);
	}

private:
	void little(uint64_t value, int size)
	{
		for (int i = 0; i < size; ++i)
			u8(static_cast<uint8_t>(value >> (8 * i)));
	}

	std::string bytes_;
};

// Reads fields in order; the first field that does not fit or does not make sense
// sets the error, and every read after it fails too.
class Reader
{
public:
	explicit Reader(std::string_view bytes) : bytes_(bytes) {}

	bool ok() const { return !error_; }
	const std::string &error() const { return *error_; }
	size_t remaining() const { return bytes_.size() - offset_; }

	bool reject(const std::string &why)
	{
		if (!error_)
			error_ = why + " at byte " + std::to_string(offset_);
		return false;
	}

	uint64_t little(size_t size, const char *what)
	{
		if (!ok() || remaining() < size) {
			reject(std::string("truncated ") + what);
			return 0;
		}
		uint64_t value = 0;
		for (size_t i = 0; i < size; ++i)
			value |= uint64_t{static_cast<unsigned char>(bytes_[offset_ + i])}
				 << (8 * i);
		offset_ += size;
		return value;
	}
	uint32_t u32(const char *what) { return static_cast<uint32_t>(little(4, what)); }
	uint64_t u64(const char *what) { return little(8, what); }
	bool flag(const char *what)
	{
		const auto value = little(1, what);
		if (value > 1)
			reject(std::string(what) + " is " + std::to_string(value) + ", not 0 or 1");
		return value == 1;
	}
	std::string string(const char *what)
	{
		const uint32_t size = u32(what);
		if (!ok() || remaining() < size) {
			reject(std::string("truncated ") + what);
			return {};
		}
		std::string text(bytes_.substr(offset_, size));
		offset_ += size;
		if (!isValidUtf8(text) || text.find('\0') != std::string::npos)
			reject(std::string(what) + " is not UTF-8 without NUL");
		return text;
	}
	// A count of items each at least minSize bytes long: never more than the rest of
	// the bytes could hold, so garbage cannot make the reader allocate much.
	uint32_t count(const char *what, size_t minSize)
	{
		const uint32_t n = u32(what);
		if (ok() && uint64_t{n} * minSize > remaining())
			reject(std::string(what) + " " + std::to_string(n) + " does not fit");
		return ok() ? n : 0;
	}
	std::vector<std::string> strings(const char *what)
	{
		std::vector<std::string> texts;
		for (uint32_t i = count(what, 4); ok() && i > 0; --i)
			texts.push_back(string(what));
		return texts;
	}
	ObjectInfo info(Account &owner, uint32_t version)
	{
		ObjectInfo info;
		info.id.scope = string("scope");
		info.id.key = string("key");
		if (ok() && info.id.key.empty())
			reject("empty key");
		info.allowedApps = strings("allowed_apps");
		if (version >= 3) {
			owner.uid = u32("owner uid");
			owner.appId = string("owner app id");
		} else {
			owner = {static_cast<uint32_t>(getuid()), info.id.scope};
		}
		return info;
	}

private:
	std::string_view bytes_;
	size_t offset_ = 0;
	std::optional<std::string> error_;
};

// The writers and readers of the three kinds parallel each other on purpose: each
// record has fields of its own, in an order the format fixes.
void writeSemaphore(Writer &out, const SemaphoreRecord &record)
{
	out.info(record.info, record.owner);
	out.u32(record.value);
	out.u32(record.max);
	out.u8(record.returnOnExit);
	out.strings(record.refs);
	out.u32(static_cast<uint32_t>(record.holders.size()));
	for (const auto &[client, units] : record.holders) {
		out.string(client);
		out.u32(units);
	}
	out.u8(record.fast);
}

SemaphoreRecord readSemaphore(Reader &in, uint32_t version)
{
	SemaphoreRecord record;
	record.info = in.info(record.owner, version);
	record.value = in.u32("value");
	record.max = in.u32("max");
	record.returnOnExit = in.flag("return_on_exit");
	if (in.ok() && (record.max == 0 || record.value > record.max))
		in.reject("value " + std::to_string(record.value) + " and max " +
			  std::to_string(record.max) + " do not fit");
	record.refs = in.strings("references");
	for (uint32_t i = in.count("holders", 8); in.ok() && i > 0; --i) {
		auto client = in.string("holder");
		const uint32_t units = in.u32("units");
		if (in.ok() && (units == 0 || units > record.max))
			in.reject("a holder of " + std::to_string(units) + " units");
		record.holders.emplace_back(std::move(client), units);
	}
	if (version >= 4)
		record.fast = in.flag("fast");
	return record;
}

void writeLock(Writer &out, const LockRecord &record)
{
	out.info(record.info, record.owner);
	out.u64(record.lastToken);
	out.strings(record.refs);
	out.u32(static_cast<uint32_t>(record.grants.size()));
	for (const auto &grant : record.grants) {
		out.string(grant.holder.client);
		out.u32(grant.holder.pid);
		out.string(grant.holder.appId);
		out.u8(grant.mode == LockMode::Exclusive);
		out.u64(grant.token);
		out.u64(grant.acquiredAtUsec);
		out.u8(grant.handle);
		const auto fdName = record.handleFdNames.find(grant.token);
		out.string(fdName == record.handleFdNames.end() ? "" : fdName->second);
	}
	out.u8(record.fast);
}

LockRecord readLock(Reader &in, uint32_t version)
{
	LockRecord record;
	record.info = in.info(record.owner, version);
	record.lastToken = in.u64("last token");
	record.refs = in.strings("references");
	bool exclusive = false;
	for (uint32_t i = in.count("grants", 30); in.ok() && i > 0; --i) {
		LockGrant grant{};
		grant.holder.client = in.string("grant holder");
		grant.holder.pid = in.u32("grant pid");
		grant.holder.appId = in.string("grant app id");
		grant.mode = in.flag("grant mode") ? LockMode::Exclusive : LockMode::Shared;
		grant.token = in.u64("grant token");
		grant.acquiredAtUsec = in.u64("grant time");
		grant.handle = in.flag("grant handle");
		// Version 1 kept no handle ends.
		auto fdName = version >= 2 ? in.string("grant handle fd name") : std::string();
		if (in.ok() && !fdName.empty()) {
			if (!grant.handle)
				in.reject("grant " + std::to_string(grant.token) +
					  " has a handle fd name but is not a handle grant");
			record.handleFdNames.emplace(grant.token, std::move(fdName));
		}
		exclusive = exclusive || grant.mode == LockMode::Exclusive;
		if (in.ok() && (grant.token == 0 || grant.token > record.lastToken))
			in.reject("grant token " + std::to_string(grant.token) +
				  " is not in 1..last token");
		record.grants.push_back(std::move(grant));
	}
	if (in.ok() && exclusive && record.grants.size() > 1)
		in.reject("an exclusive grant that is not alone");
	if (version >= 4)
		record.fast = in.flag("fast");
	return record;
}

// Parallels writeSemaphore and writeLock on purpose (see above).
void writeSharedMemory(Writer &out, const SharedMemoryRecord &record)
{
	out.info(record.info, record.owner);
	out.u64(record.size);
	out.u8(record.sealed);
	out.string(record.fdName);
	out.string(record.creator);
	out.strings(record.refs);
	out.strings(record.attached);
	out.u8(record.lockHolder.has_value());
	out.string(record.lockHolder.value_or(""));
	out.u8(record.info.allowedAppsWrite);
}

SharedMemoryRecord readSharedMemory(Reader &in, uint32_t version)
{
	SharedMemoryRecord record;
	record.info = in.info(record.owner, version);
	record.size = in.u64("size");
	record.sealed = in.flag("sealed");
	record.fdName = in.string("fd name");
	if (in.ok() && (record.size == 0 || record.fdName.empty()))
		in.reject("a shared-memory object of size 0 or without fd name");
	record.creator = in.string("creator");
	record.refs = in.strings("references");
	record.attached = in.strings("attachments");
	const bool locked = in.flag("locked");
	auto holder = in.string("lock holder");
	if (locked)
		record.lockHolder = std::move(holder);
	// Before version 3 listed apps could attach any shared-memory object writable; restored,
	// they get the default that every shared-memory object has now: read only.
	if (version >= 3)
		record.info.allowedAppsWrite = in.flag("allowed apps write");
	return record;
}

} // namespace

std::string encodeSnapshot(const Snapshot &snapshot)
{
	Writer out;
	for (char c : kMagic)
		out.u8(static_cast<uint8_t>(c));
	out.u32(kSnapshotVersion);
	out.u64(snapshot.generation);
	out.u32(static_cast<uint32_t>(snapshot.semaphores.size()));
	for (const auto &record : snapshot.semaphores)
		writeSemaphore(out, record);
	out.u32(static_cast<uint32_t>(snapshot.locks.size()));
	for (const auto &record : snapshot.locks)
		writeLock(out, record);
	out.u32(static_cast<uint32_t>(snapshot.sharedMemories.size()));
	for (const auto &record : snapshot.sharedMemories)
		writeSharedMemory(out, record);
	return out.finish();
}

Result<Snapshot> decodeSnapshot(std::string_view bytes)
{
	if (bytes.size() < kMagic.size() + 4 + 8 + 8 || !bytes.starts_with(kMagic))
		return fail(ErrorCode::InvalidArgument, "not an ipchub snapshot (no magic)");
	const auto body = bytes.substr(0, bytes.size() - 8);
	Reader tail(bytes.substr(bytes.size() - 8));
	if (tail.u64("checksum") != checksum(body))
		return fail(ErrorCode::InvalidArgument, "the snapshot's checksum does not match");

	Reader in(body.substr(kMagic.size()));
	const uint32_t version = in.u32("version");
	if (version < kOldestSnapshotVersion || version > kSnapshotVersion)
		return fail(ErrorCode::InvalidArgument,
			    "snapshot version " + std::to_string(version) +
				    "; this ipchubd reads " +
				    std::to_string(kOldestSnapshotVersion) + " to " +
				    std::to_string(kSnapshotVersion));
	Snapshot snapshot;
	snapshot.generation = in.u64("generation");
	// The smallest record of each kind: an empty info and fixed fields.
	for (uint32_t i = in.count("semaphores", 25); in.ok() && i > 0; --i)
		snapshot.semaphores.push_back(readSemaphore(in, version));
	for (uint32_t i = in.count("locks", 28); in.ok() && i > 0; --i)
		snapshot.locks.push_back(readLock(in, version));
	for (uint32_t i = in.count("shared-memory objects", 42); in.ok() && i > 0; --i)
		snapshot.sharedMemories.push_back(readSharedMemory(in, version));
	if (in.ok() && in.remaining() != 0)
		in.reject("trailing bytes");
	if (!in.ok())
		return fail(ErrorCode::InvalidArgument, "a broken snapshot: " + in.error());
	return snapshot;
}

} // namespace ipchub::core
