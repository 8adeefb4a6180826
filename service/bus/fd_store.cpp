#include "fd_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <systemd/sd-daemon.h>

#include "core/hub_snapshot.hpp"
#include "core/snapshot_size.hpp"

namespace ipchub::bus {

namespace {

constexpr std::string_view kStatePrefix = "state.";
constexpr std::string_view kSegmentPrefix = "shm.";
constexpr std::string_view kHandlePrefix = "handle.";
// A snapshot larger than this is garbage, not state.
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

Result<UniqueFd> sealedMemfd(const std::string &bytes)
{
	UniqueFd fd(memfd_create("ipchub-state", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	if (!fd)
		return fail(ErrorCode::Failed, std::string("memfd_create: ") + std::strerror(errno));
	size_t done = 0;
	while (done < bytes.size()) {
		const ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(ErrorCode::Failed,
				    std::string("writing the state memfd: ") + std::strerror(errno));
		done += static_cast<size_t>(n);
	}
	// Nobody, not even this process, can change the snapshot once it is handed over.
	if (fcntl(fd.get(), F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return fail(ErrorCode::Failed,
			    std::string("sealing the state memfd: ") + std::strerror(errno));
	return fd;
}

Result<std::string> readAll(int fd)
{
	struct stat status {};
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
			return fail(ErrorCode::Failed, "short read of " + std::to_string(done) +
							       " of " + std::to_string(bytes.size()) +
							       " bytes");
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

FdStore::FdStore(EventLoop &loop, core::Hub &hub, bool storing) : hub_(hub), storing_(storing)
{
	if (!storing_)
		return;
	sd_event_source *source = nullptr;
	if (const int r = sd_event_add_defer(loop.event(), &source, &FdStore::onDeferred, this);
	    r < 0)
		throw std::runtime_error(std::string("sd_event_add_defer: ") + std::strerror(-r));
	deferred_.reset(source);
	sd_event_source_set_enabled(source, SD_EVENT_OFF);
	track(hub_.semaphores);
	track(hub_.locks);
	track(hub_.segments);
}

FdStore::~FdStore()
{
	hub_.semaphores.setAddedHandler(nullptr);
	hub_.locks.setAddedHandler(nullptr);
	hub_.segments.setAddedHandler(nullptr);
	hub_.semaphores.setTableChangedHandler(nullptr);
	hub_.locks.setTableChangedHandler(nullptr);
	hub_.segments.setTableChangedHandler(nullptr);
}

template <typename Object>
void FdStore::track(core::ObjectTable<Object> &table)
{
	table.setAddedHandler([this](const std::shared_ptr<Object> &object, bool persistent) {
		if (persistent)
			object->setStateHandler(
				[this](bool tellsClient) { stateChanged(tellsClient); });
	});
	table.setTableChangedHandler([this] { markDirty(); });
}

void FdStore::stateChanged(bool tellsClient)
{
	if (tellsClient)
		write();
	else
		markDirty();
}

void FdStore::markDirty()
{
	if (dirty_ || !deferred_)
		return;
	dirty_ = true;
	sd_event_source_set_enabled(deferred_.get(), SD_EVENT_ONESHOT);
}

int FdStore::onDeferred(sd_event_source *, void *userdata)
{
	static_cast<FdStore *>(userdata)->write();
	return 0;
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

std::string FdStore::fdNameOf(const core::SharedMemory &segment) const
{
	for (const auto &[name, stored] : stored_)
		if (stored.get() == &segment)
			return name;
	return {};
}

std::string FdStore::fdNameOf(const core::Lock &lock, uint64_t token) const
{
	for (const auto &[name, stored] : storedHandles_)
		if (stored.token == token && stored.lock.lock().get() == &lock)
			return name;
	return {};
}

void FdStore::storeSegments()
{
	for (const auto &segment : hub_.segments.objects()) {
		if (!hub_.segments.persistent(segment->id()) || !segment->memfd() ||
		    !fdNameOf(*segment).empty())
			continue;
		const std::string name = std::string(kSegmentPrefix) + std::to_string(nextSegment_++);
		if (notify("FDSTORE=1\nFDNAME=" + name, segment->memfd().get()))
			stored_.emplace(name, segment);
	}
}

void FdStore::storeHandleEnds()
{
	for (const auto &lock : hub_.locks.objects()) {
		if (!hub_.locks.persistent(lock->id()))
			continue;
		for (const auto &[token, end] : lock->handleEnds()) {
			if (!fdNameOf(*lock, token).empty())
				continue;
			const std::string name =
				std::string(kHandlePrefix) + std::to_string(nextHandle_++);
			if (notify("FDSTORE=1\nFDNAME=" + name, end.get()))
				storedHandles_.emplace(name, StoredHandle{lock, token});
		}
	}
}

void FdStore::removeGone()
{
	for (auto it = storedHandles_.begin(); it != storedHandles_.end();) {
		const auto lock = it->second.lock.lock();
		const bool kept = lock && hub_.locks.find(lock->id()) == lock &&
				  hub_.locks.persistent(lock->id()) &&
				  lock->handleEnds().contains(it->second.token);
		if (kept) {
			++it;
			continue;
		}
		notify("FDSTOREREMOVE=1\nFDNAME=" + it->first);
		it = storedHandles_.erase(it);
	}
	for (auto it = stored_.begin(); it != stored_.end();) {
		const auto &segment = it->second;
		const bool kept = segment->memfd() && hub_.segments.find(segment->id()) == segment &&
				  hub_.segments.persistent(segment->id());
		if (kept) {
			++it;
			continue;
		}
		notify("FDSTOREREMOVE=1\nFDNAME=" + it->first);
		it = stored_.erase(it);
	}
}

void FdStore::write()
{
	// A grant inside a write (none should happen) must not recurse into it.
	if (writing_ || !storing_)
		return;
	writing_ = true;
	dirty_ = false;
	sd_event_source_set_enabled(deferred_.get(), SD_EVENT_OFF);

	// New memfds first and old ones last: the store never holds a snapshot that
	// names a memfd it does not hold.
	storeSegments();
	storeHandleEnds();
	auto snapshot = core::captureSnapshot(
		hub_,
		{[this](const core::SharedMemory &segment) { return fdNameOf(segment); },
		 [this](const core::Lock &lock, uint64_t token) { return fdNameOf(lock, token); }});
	// Compared without the generation, which is all that differs when nothing changed.
	auto unchanged = core::encodeSnapshot(snapshot);
	if (unchanged != written_) {
		snapshot.generation = generation_ + 1;
		auto bytes = core::encodeSnapshot(snapshot);
		// The limits keep the state far below this; a state that a restart would
		// refuse is not kept, and the last one that reads well stays.
		const bool fits = bytes.size() <= core::kMaxStateBytes;
		auto fd = fits ? sealedMemfd(bytes) : Result<UniqueFd>(UniqueFd{});
		const std::string name =
			std::string(kStatePrefix) + std::to_string(generation_ + 1);
		if (!fits)
			std::cerr << "ipchubd: not keeping a state of " << bytes.size()
				  << " bytes; a restart reads at most " << core::kMaxStateBytes
				  << "\n";
		else if (!fd)
			std::cerr << "ipchubd: cannot keep the state: " << fd.error().message
				  << "\n";
		else if (notify("FDSTORE=1\nFDNAME=" + name, fd->get())) {
			if (!stateName_.empty())
				notify("FDSTOREREMOVE=1\nFDNAME=" + stateName_);
			stateName_ = name;
			written_ = std::move(unchanged);
			++generation_;
		}
	}
	removeGone();
	writing_ = false;
}

bool FdStore::restore(const std::function<bool(const std::string &)> &isPresent)
{
	char **names = nullptr;
	const int count = sd_listen_fds_with_names(1, &names);
	if (count <= 0)
		return false;
	std::map<std::string, UniqueFd> fds;
	std::vector<std::pair<uint64_t, std::string>> states;
	for (int i = 0; i < count; ++i) {
		std::string name = names && names[i] ? names[i] : "unknown";
		if (auto generation = numberAfter(name, kStatePrefix))
			states.emplace_back(*generation, name);
		fds[name] = UniqueFd(SD_LISTEN_FDS_START + i);
	}
	for (int i = 0; names && i < count; ++i)
		std::free(names[i]);
	std::free(names);

	// The newest snapshot that reads well; older ones are a write cut short.
	std::sort(states.rbegin(), states.rend());
	std::optional<core::Snapshot> snapshot;
	for (const auto &[generation, name] : states) {
		auto bytes = readAll(fds[name].get());
		auto decoded = bytes ? core::decodeSnapshot(*bytes)
				     : Result<core::Snapshot>(detail::Unexpected<Error>(bytes.error()));
		if (decoded) {
			snapshot = std::move(*decoded);
			stateName_ = name;
			generation_ = std::max(generation, snapshot->generation);
			break;
		}
		std::cerr << "ipchubd: ignoring the kept state " << name << ": "
			  << decoded.error().message << "\n";
	}
	for (const auto &[name, fd] : fds) {
		if (auto number = numberAfter(name, kSegmentPrefix))
			nextSegment_ = std::max(nextSegment_, *number + 1);
		if (auto number = numberAfter(name, kHandlePrefix))
			nextHandle_ = std::max(nextHandle_, *number + 1);
	}

	if (snapshot) {
		core::RestoreHooks hooks{
			isPresent,
			[&](const std::string &name) {
				auto it = fds.find(name);
				return it == fds.end() ? UniqueFd{} : std::move(it->second);
			},
			[&](const core::SharedMemory &segment, const std::string &name) {
				stored_.emplace(name, hub_.segments.find(segment.id()));
			},
			[&](const core::Lock &lock, uint64_t token, const std::string &name) {
				storedHandles_.emplace(name,
						       StoredHandle{hub_.locks.find(lock.id()),
								    token});
			}};
		for (const auto &problem : core::restoreSnapshot(hub_, *snapshot, hooks))
			std::cerr << "ipchubd: restoring: " << problem << "\n";
		std::cerr << "ipchubd: restored " << snapshot->semaphores.size() << " semaphores, "
			  << snapshot->locks.size() << " locks and " << snapshot->segments.size()
			  << " segments from " << stateName_ << "\n";
	}
	// Whatever the restored state does not use leaves the store: older snapshots,
	// memfds of segments that are gone.
	for (const auto &[name, fd] : fds)
		if (storing_ && name != stateName_ && !stored_.contains(name) &&
		    !storedHandles_.contains(name))
			notify("FDSTOREREMOVE=1\nFDNAME=" + name);
	if (snapshot)
		write();
	return snapshot.has_value();
}

} // namespace ipchub::bus
