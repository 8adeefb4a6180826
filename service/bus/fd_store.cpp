// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fd_store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <set>
#include <span>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

#include <systemd/sd-daemon.h>

#include "core/hub_snapshot.hpp"
#include "core/snapshot_size.hpp"
#include "core/state_records.hpp"

namespace ipchub::bus {

namespace {

// The records of the state, updated in place (state_records.hpp).
constexpr std::string_view kRecordsPrefix = "records.";
// A whole snapshot of an ipchubd that kept one per change; still read.
constexpr std::string_view kStatePrefix = "state.";
constexpr std::string_view kSharedMemoryPrefix = "shm.";
constexpr std::string_view kHandlePrefix = "handle.";
// State larger than this is garbage, not state.
constexpr off_t kMaxStateBytes = static_cast<off_t>(core::kMaxStateBytes);

std::optional<uint64_t> numberAfter(std::string_view name, std::string_view prefix)
{
	if (!name.starts_with(prefix) || name.size() == prefix.size() || name.size() > 40)
		return std::nullopt;
	uint64_t number = 0;
	for (char c : name.substr(prefix.size())) {
		if (c < '0' || c > '9')
			return std::nullopt;
		number = number * 10 + static_cast<uint64_t>(c - '0');
	}
	return number;
}

Result<std::string> readAll(int fd)
{
	struct stat status {
	};
	if (fstat(fd, &status) < 0)
		return fail(ErrorCode::Failed, std::string("fstat: ") + std::strerror(errno));
	if (!S_ISREG(status.st_mode) || status.st_size > kMaxStateBytes)
		return fail(ErrorCode::InvalidArgument,
			    "not a memfd of at most " + std::to_string(kMaxStateBytes) + " bytes");
	std::string bytes(static_cast<size_t>(status.st_size), '\0');
	size_t done = 0;
	while (done < bytes.size()) {
		const ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done,
					static_cast<off_t>(done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(ErrorCode::Failed,
				    "short read of " + std::to_string(done) + " of " +
					    std::to_string(bytes.size()) + " bytes");
		done += static_cast<size_t>(n);
	}
	return bytes;
}

} // namespace

bool FdStore::managerListens()
{
	const char *socket = std::getenv("NOTIFY_SOCKET");
	return socket && *socket;
}

FdStore::FdStore(core::Hub &hub, bool storing) : hub_(hub), storing_(storing)
{
	hub_.storeBudget.setEnabled(storing_);
	if (storing_)
		hub_.observers.add(*this);
}

FdStore::~FdStore()
{
	hub_.observers.remove(*this);
}

void FdStore::referencesChanged(core::ObjectKind kind, const core::ObjectKey &id)
{
	record(kind, id);
}

void FdStore::stateChanged(core::ObjectKind kind, const core::ObjectKey &id, bool)
{
	// Only a persistent object has a record. Written at once, whether a client hears
	// of it or not: a record costs what one object's encoding costs.
	const bool persistent = kind == core::ObjectKind::Semaphore ? hub_.semaphores.persistent(id)
				: kind == core::ObjectKind::Lock
					? hub_.locks.persistent(id)
					: hub_.sharedMemories.persistent(id);
	if (persistent)
		record(kind, id);
}

void FdStore::record(core::ObjectKind kind, const core::ObjectKey &id)
{
	if (restoring_ || !records_)
		return;
	// New fds go to the store before the record names them; gone ones leave it
	// after the record no longer does.
	std::vector<std::string> gone;
	if (kind == core::ObjectKind::SharedMemory) {
		if (auto old = storeSharedMemory(id))
			gone.push_back(std::move(*old));
	} else if (kind == core::ObjectKind::Lock) {
		gone = storeHandleEnds(id);
	}
	writeRecord(kind, id);
	for (const auto &name : gone)
		unstore(name);
}

std::optional<std::string> FdStore::storeSharedMemory(const core::ObjectKey &id)
{
	const auto sharedMemory = hub_.sharedMemories.find(id);
	const bool kept = sharedMemory && hub_.sharedMemories.persistent(id) &&
			  sharedMemory->memfd();
	auto stored = sharedMemories_.find(id);
	if (stored != sharedMemories_.end() && stored->second.sharedMemory == sharedMemory && kept)
		return std::nullopt;
	std::optional<std::string> old;
	if (stored != sharedMemories_.end()) {
		old = stored->second.name;
		sharedMemories_.erase(stored);
	}
	if (!kept)
		return old;
	if (!hub_.storeBudget.hasRoom()) {
		std::cerr << "ipchubd: " << hub_.sharedMemories.describe(id)
			  << " is not kept: the fd store is full\n";
		return old;
	}
	const std::string name =
		std::string(kSharedMemoryPrefix) + std::to_string(nextSharedMemory_++);
	if (store(name, sharedMemory->memfd().get()))
		sharedMemories_.emplace(id, StoredSharedMemory{sharedMemory, name});
	return old;
}

std::vector<std::string> FdStore::storeHandleEnds(const core::ObjectKey &id)
{
	std::vector<std::string> gone;
	const auto lock = hub_.locks.find(id);
	const bool kept = lock && hub_.locks.persistent(id);
	auto stored = handles_.find(id);
	if (stored != handles_.end() && (!kept || stored->second.lock.lock() != lock)) {
		for (const auto &[token, name] : stored->second.names)
			gone.push_back(name);
		handles_.erase(stored);
		stored = handles_.end();
	}
	if (!kept || (lock->handleEnds().empty() && stored == handles_.end()))
		return gone;
	if (stored == handles_.end())
		stored = handles_.emplace(id, StoredHandles{lock, {}}).first;
	auto &names = stored->second.names;
	for (auto it = names.begin(); it != names.end();) {
		if (lock->handleEnds().contains(it->first)) {
			++it;
			continue;
		}
		gone.push_back(it->second);
		it = names.erase(it);
	}
	for (const auto &[token, end] : lock->handleEnds()) {
		if (names.contains(token))
			continue;
		// The handle's caller was refused if there was no room; a grant that
		// waited for the lock may still find none: it is held by its name alone.
		if (!hub_.storeBudget.hasRoom()) {
			std::cerr << "ipchubd: the handle of grant " << token << " of "
				  << hub_.locks.describe(id)
				  << " is not kept: the fd store is full\n";
			continue;
		}
		const std::string name = std::string(kHandlePrefix) + std::to_string(nextHandle_++);
		if (store(name, end.get()))
			names.emplace(token, name);
	}
	if (names.empty())
		handles_.erase(stored);
	return gone;
}

void FdStore::writeRecord(core::ObjectKind kind, const core::ObjectKey &id)
{
	if (auto written = records_->write(kind, id); !written)
		std::cerr << "ipchubd: cannot keep the state of "
			  << (kind == core::ObjectKind::Semaphore ? hub_.semaphores.describe(id)
			      : kind == core::ObjectKind::Lock	  ? hub_.locks.describe(id)
							       : hub_.sharedMemories.describe(id))
			  << ": " << written.error().message << "\n";
}

core::FdNames FdStore::fdNames() const
{
	return {[this](const core::SharedMemory &sharedMemory) {
			auto stored = sharedMemories_.find(sharedMemory.id());
			return stored != sharedMemories_.end() &&
					       stored->second.sharedMemory.get() == &sharedMemory
				       ? stored->second.name
				       : std::string();
		},
		[this](const core::Lock &lock, uint64_t token) {
			auto stored = handles_.find(lock.id());
			if (stored == handles_.end() || stored->second.lock.lock().get() != &lock)
				return std::string();
			auto name = stored->second.names.find(token);
			return name == stored->second.names.end() ? std::string() : name->second;
		}};
}

bool FdStore::startRecords(uint64_t number)
{
	auto file = core::RecordFile::create(kMaxStateBytes);
	if (!file) {
		std::cerr << "ipchubd: cannot keep the state: " << file.error().message << "\n";
		return false;
	}
	core::StateRecords records(hub_, std::move(*file), fdNames());
	if (auto written = records.writeAll(); !written) {
		std::cerr << "ipchubd: cannot keep the state: " << written.error().message << "\n";
		return false;
	}
	// Its place is always there (StoreBudget keeps one free), unless an older ipchubd
	// filled the store.
	if (!hub_.storeBudget.fits()) {
		std::cerr << "ipchubd: cannot keep the state: the fd store holds "
			  << hub_.storeBudget.used() << " descriptors, fd_store_max is "
			  << hub_.storeBudget.max() << "\n";
		return false;
	}
	const std::string name = std::string(kRecordsPrefix) + std::to_string(number);
	if (!store(name, records.file().fd().get()))
		return false;
	records_.emplace(std::move(records));
	recordsName_ = name;
	return true;
}

bool FdStore::store(const std::string &name, int fd)
{
	if (!notify("FDSTORE=1\nFDNAME=" + name, fd))
		return false;
	hub_.storeBudget.added();
	return true;
}

void FdStore::unstore(const std::string &name)
{
	notify("FDSTOREREMOVE=1\nFDNAME=" + name);
	hub_.storeBudget.removed();
}

bool FdStore::notify(const std::string &message, int fd)
{
	const int r = fd < 0 ? sd_pid_notify(0, 0, message.c_str())
			     : sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
	if (r < 0) {
		std::cerr << "ipchubd: telling the service manager \"" << message
			  << "\" failed: " << std::strerror(-r) << "\n";
		return false;
	}
	return true;
}

namespace {

// The newest state among the fds: records before snapshots of an older ipchubd, the
// larger number first. Problems go to stderr.
std::optional<core::Snapshot> readNewestState(std::map<std::string, UniqueFd> &fds,
					      std::string &chosen)
{
	std::vector<std::tuple<int, uint64_t, std::string>> candidates;
	for (const auto &[name, fd] : fds) {
		if (auto number = numberAfter(name, kRecordsPrefix))
			candidates.emplace_back(1, *number, name);
		else if (auto number = numberAfter(name, kStatePrefix))
			candidates.emplace_back(0, *number, name);
	}
	std::sort(candidates.rbegin(), candidates.rend());
	for (const auto &[records, number, name] : candidates) {
		auto bytes = readAll(fds[name].get());
		std::vector<std::string> problems;
		Result<core::Snapshot> decoded =
			!bytes ? Result<core::Snapshot>(errorOf(bytes))
			: records
				? core::readStateRecords(std::as_bytes(std::span(*bytes)), problems)
				: core::decodeSnapshot(*bytes);
		for (const auto &problem : problems)
			std::cerr << "ipchubd: reading the kept state " << name << ": " << problem
				  << "\n";
		if (decoded) {
			chosen = name;
			return std::move(*decoded);
		}
		std::cerr << "ipchubd: ignoring the kept state " << name << ": "
			  << decoded.error().message << "\n";
	}
	return std::nullopt;
}

} // namespace

bool FdStore::restore(const std::function<bool(const std::string &)> &isPresent)
{
	const auto began = std::chrono::steady_clock::now();
	char **names = nullptr;
	const int count = sd_listen_fds_with_names(1, &names);
	std::map<std::string, UniqueFd> fds;
	for (int i = 0; i < count; ++i) {
		std::string name = names && names[i] ? names[i] : "unknown";
		fds[name] = UniqueFd(SD_LISTEN_FDS_START + i);
	}
	for (int i = 0; names && i < count; ++i)
		std::free(names[i]);
	std::free(names);
	if (!storing_)
		return false;

	// Everything handed back is in the store until removed.
	for (size_t i = 0; i < fds.size(); ++i)
		hub_.storeBudget.added();
	uint64_t nextRecords = 1;
	for (const auto &[name, fd] : fds) {
		if (auto number = numberAfter(name, kSharedMemoryPrefix))
			nextSharedMemory_ = std::max(nextSharedMemory_, *number + 1);
		if (auto number = numberAfter(name, kHandlePrefix))
			nextHandle_ = std::max(nextHandle_, *number + 1);
		if (auto number = numberAfter(name, kRecordsPrefix))
			nextRecords = std::max(nextRecords, *number + 1);
		if (auto number = numberAfter(name, kStatePrefix))
			nextRecords = std::max(nextRecords, *number + 1);
	}
	std::string chosen;
	const auto snapshot = readNewestState(fds, chosen);
	if (snapshot) {
		restoring_ = true;
		core::RestoreHooks hooks{
			isPresent,
			[&](const std::string &name) {
				auto it = fds.find(name);
				return it == fds.end() ? UniqueFd{} : std::move(it->second);
			},
			[&](const core::SharedMemory &sharedMemory, const std::string &name) {
				sharedMemories_.emplace(
					sharedMemory.id(),
					StoredSharedMemory{
						hub_.sharedMemories.find(sharedMemory.id()), name});
			},
			[&](const core::Lock &lock, uint64_t token, const std::string &name) {
				auto &stored = handles_[lock.id()];
				stored.lock = hub_.locks.find(lock.id());
				stored.names.emplace(token, name);
			}};
		for (const auto &problem : core::restoreSnapshot(hub_, *snapshot, hooks))
			std::cerr << "ipchubd: restoring: " << problem << "\n";
		restoring_ = false;
	}
	// The restored state moves to a new memfd (with only what came back); until that
	// one is stored, the old one stays.
	const bool moved = startRecords(nextRecords);
	if (snapshot)
		std::cerr << "ipchubd: restored " << snapshot->semaphores.size() << " semaphores, "
			  << snapshot->locks.size() << " locks and "
			  << snapshot->sharedMemories.size() << " shared-memory objects from "
			  << chosen << " in "
			  << std::chrono::duration_cast<std::chrono::milliseconds>(
				     std::chrono::steady_clock::now() - began)
				     .count()
			  << " ms\n";
	if (!moved)
		return snapshot.has_value();
	// Whatever the restored state does not use leaves the store: the old state,
	// memfds of shared-memory objects that are gone, ends of handles closed meanwhile.
	std::set<std::string> used{recordsName_};
	for (const auto &[id, stored] : sharedMemories_)
		used.insert(stored.name);
	for (const auto &[id, stored] : handles_)
		for (const auto &[token, name] : stored.names)
			used.insert(name);
	for (const auto &[name, fd] : fds)
		if (!used.contains(name))
			unstore(name);
	return snapshot.has_value();
}

} // namespace ipchub::bus
