#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/hub.hpp"
#include "event_loop.hpp"

namespace ipchub::bus {

// Keeps the persistent state in the service manager's fd store, so that it survives
// ipchubd being killed and restarted (systemd: FileDescriptorStoreMax=, Restart=).
// The store holds a sealed memfd with the snapshot of the persistent objects, named
// "state.<generation>", the memfd of every persistent segment, named "shm.<n>", and
// the service's end of the pipe of every handle grant of a persistent lock, named
// "handle.<n>", so that closing the handle still ends the grant after a restart.
//
// A change that a client is told of right after (a grant, a release) is written
// before the reply leaves; every other change is written once per loop iteration.
class FdStore
{
public:
	// Whether a service manager listens (NOTIFY_SOCKET): without one ipchubd keeps
	// nothing anywhere, as it always did.
	static bool managerListens();

	FdStore(EventLoop &loop, core::Hub &hub, bool storing);
	~FdStore();
	FdStore(const FdStore &) = delete;
	FdStore &operator=(const FdStore &) = delete;

	// Restores the hub from the fds the service manager handed over at start
	// (LISTEN_FDS, LISTEN_FDNAMES). isPresent says whether a unique name is still on
	// the bus. Returns whether anything was restored.
	bool restore(const std::function<bool(const std::string &)> &isPresent);

private:
	static int onDeferred(sd_event_source *, void *userdata);
	template <typename Object>
	void track(core::ObjectTable<Object> &table);
	void stateChanged(bool tellsClient);
	void markDirty();
	void write();
	bool notify(const std::string &message, int fd = -1);
	std::string fdNameOf(const core::SharedMemory &segment) const;
	std::string fdNameOf(const core::Lock &lock, uint64_t token) const;
	void storeSegments();
	void storeHandleEnds();
	void removeGone();

	core::Hub &hub_;
	bool storing_;
	bool dirty_ = false;
	bool writing_ = false;
	uint64_t generation_ = 0;
	std::string stateName_;
	// What the store holds now: a write that would not change it is skipped.
	std::string written_;
	uint64_t nextSegment_ = 0;
	// The segments whose memfd is in the store, by fd name.
	std::map<std::string, std::shared_ptr<core::SharedMemory>> stored_;
	// A handle end in the store: the lock and the token of its grant.
	struct StoredHandle {
		std::weak_ptr<core::Lock> lock;
		uint64_t token;
	};
	uint64_t nextHandle_ = 0;
	std::map<std::string, StoredHandle> storedHandles_;
	EventSourcePtr deferred_;
};

} // namespace ipchub::bus
