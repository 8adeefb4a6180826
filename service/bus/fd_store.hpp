// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/hub.hpp"
#include "core/state_records.hpp"

namespace ipchub::bus {

// Keeps the persistent state in the service manager's fd store, so that it survives
// ipchubd being killed and restarted (systemd: FileDescriptorStoreMax=, Restart=).
// The store holds the memfd of the state's records (core/state_records.hpp), named
// "records.<n>", stored once at start and updated in place from then on; the memfd of
// every persistent shared-memory object, named "shm.<n>"; and the service's end of the pipe of
// every handle grant of a persistent lock, named "handle.<n>", so that closing the
// handle still ends the grant after a restart.
//
// Every change of a persistent object rewrites that object's record at once, before
// the reply that tells of it leaves; the store hears of new and gone fds only.
class FdStore final : private core::Observer
{
public:
	// Whether a service manager listens (NOTIFY_SOCKET): without one ipchubd keeps
	// nothing anywhere, as it always did.
	static bool managerListens();

	FdStore(core::Hub &hub, bool storing);
	~FdStore();
	FdStore(const FdStore &) = delete;
	FdStore &operator=(const FdStore &) = delete;

	// Restores the hub from the fds the service manager handed over at start
	// (LISTEN_FDS, LISTEN_FDNAMES), the state's records or a snapshot ("state.<n>")
	// of an older ipchubd, then moves the state to a new memfd. isPresent says whether
	// a unique name is still on the bus. Returns whether anything was restored.
	bool restore(const std::function<bool(const std::string &)> &isPresent);

private:
	// core::Observer: what a record keeps changed.
	void referencesChanged(core::ObjectKind kind, const core::ObjectKey &id) override;
	void stateChanged(core::ObjectKind kind, const core::ObjectKey &id, bool) override;
	// Writes the object's record, storing and unstoring its fds.
	void record(core::ObjectKind kind, const core::ObjectKey &id);
	// Stores the shared-memory object's memfd if it is new; returns the name of a memfd to
	// remove once the record no longer names it.
	std::optional<std::string> storeSharedMemory(const core::ObjectKey &id);
	// Stores the new handle ends of the lock; returns the names of ended ones.
	std::vector<std::string> storeHandleEnds(const core::ObjectKey &id);
	void writeRecord(core::ObjectKind kind, const core::ObjectKey &id);
	// Starts the state's records in a new memfd with every persistent object.
	bool startRecords(uint64_t number);
	bool store(const std::string &name, int fd);
	void unstore(const std::string &name);
	bool notify(const std::string &message, int fd = -1);
	core::FdNames fdNames() const;

	core::Hub &hub_;
	bool storing_;
	bool restoring_ = false;
	std::optional<core::StateRecords> records_;
	std::string recordsName_;
	uint64_t nextSharedMemory_ = 0;
	uint64_t nextHandle_ = 0;
	// The shared-memory objects whose memfd is in the store, by key, with its fd name.
	struct StoredSharedMemory {
		std::shared_ptr<core::SharedMemory> sharedMemory;
		std::string name;
	};
	std::map<core::ObjectKey, StoredSharedMemory> sharedMemories_;
	// The handle ends in the store, by lock and token.
	struct StoredHandles {
		std::weak_ptr<core::Lock> lock;
		std::map<uint64_t, std::string> names;
	};
	std::map<core::ObjectKey, StoredHandles> handles_;
};

} // namespace ipchub::bus
