// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "context.hpp"
#include "core/manager.hpp"
#include "io.github.ipchub1.Manager.adaptor.h"
#include "lock_adaptor.hpp"
#include "options.hpp"
#include "published.hpp"
#include "semaphore_adaptor.hpp"
#include "shared_memory_adaptor.hpp"

namespace ipchub::bus {

// io.github.ipchub1.Manager and org.freedesktop.DBus.ObjectManager at
// /io/github/ipchub1. Publishes an object adaptor for every core object and retires
// it when the core lets the object go.
class ManagerAdaptor final
	: public sdbus::AdaptorInterfaces<io::github::ipchub1::Manager_adaptor,
					  sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor>,
	  private core::Observer
{
public:
	ManagerAdaptor(sdbus::IConnection &connection, Context context);
	~ManagerAdaptor();

	// Publishes every object of the hub that has no adaptor yet (restored ones).
	void publishAll();

private:
	sdbus::ObjectPath CreateSemaphore(const std::string &key, const uint32_t &initial,
					  const OptionMap &options) override;
	sdbus::ObjectPath OpenSemaphore(const std::string &key, const OptionMap &options) override;
	std::tuple<sdbus::ObjectPath, sdbus::UnixFd>
	CreateSharedMemory(const std::string &key, const uint64_t &size,
			   const OptionMap &options) override;
	sdbus::ObjectPath OpenSharedMemory(const std::string &key,
					   const OptionMap &options) override;
	sdbus::ObjectPath CreateLock(const std::string &key, const OptionMap &options) override;
	sdbus::ObjectPath OpenLock(const std::string &key, const OptionMap &options) override;
	void Remove(const sdbus::ObjectPath &path) override;
	std::string Version() override;
	std::map<std::string, sdbus::Variant> Limits() override;

	// core::Observer: an object's adaptor tells of its changes, and goes with it.
	void removed(core::ObjectKind kind, const core::ObjectKey &id) override;
	void changed(core::ObjectKind kind, const core::ObjectKey &id) override;

	const Peer &caller();
	// The caller of Create or Open is told of the object's changes; returns path.
	sdbus::ObjectPath joined(sdbus::ObjectPath path);
	// The caller as the core's rules name it.
	core::Caller coreCaller();
	static core::CreateOptions createOptions(const Options &parsed);
	template <typename Object>
	std::shared_ptr<Object> open(core::ObjectTable<Object> &table, const std::string &key,
				     const OptionMap &options);
	// Whether path is below the node of scope of some kind (object_path.hpp).
	static bool inScope(const std::string &path, const std::string &scope);

	sdbus::IConnection &connection_;
	Context context_;
	Published<core::Semaphore, SemaphoreAdaptor> semaphores_{ObjectKind::Semaphore};
	Published<core::SharedMemory, SharedMemoryAdaptor> sharedMemories_{
		ObjectKind::SharedMemory};
	Published<core::Lock, LockAdaptor> locks_{ObjectKind::Lock};
};

} // namespace ipchub::bus
