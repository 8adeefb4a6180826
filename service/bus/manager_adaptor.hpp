#pragma once

#include <map>
#include <memory>
#include <string>

#include <sdbus-c++/sdbus-c++.h>

#include "context.hpp"
#include "io.github.ipchub1.Manager.adaptor.h"
#include "lock_adaptor.hpp"
#include "options.hpp"
#include "semaphore_adaptor.hpp"

namespace ipchub::bus {

// io.github.ipchub1.Manager and org.freedesktop.DBus.ObjectManager at
// /io/github/ipchub1. Publishes an object adaptor for every core object and retires
// it when the core lets the object go.
class ManagerAdaptor final
	: public sdbus::AdaptorInterfaces<io::github::ipchub1::Manager_adaptor,
					  sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor>
{
public:
	ManagerAdaptor(sdbus::IConnection &connection, Context context);
	~ManagerAdaptor();

private:
	sdbus::ObjectPath CreateSemaphore(const std::string &key, const uint32_t &initial,
					  const OptionMap &options) override;
	sdbus::ObjectPath OpenSemaphore(const std::string &key, const OptionMap &options) override;
	sdbus::ObjectPath CreateLock(const std::string &key, const OptionMap &options) override;
	sdbus::ObjectPath OpenLock(const std::string &key, const OptionMap &options) override;
	void Remove(const sdbus::ObjectPath &path) override;
	std::string Version() override;
	std::map<std::string, sdbus::Variant> Limits() override;

	const Peer &caller();
	sdbus::ObjectPath publish(const std::shared_ptr<core::Semaphore> &semaphore);
	sdbus::ObjectPath publish(const std::shared_ptr<core::Lock> &lock);

	sdbus::IConnection &connection_;
	Context context_;
	std::map<std::string, std::shared_ptr<SemaphoreAdaptor>> semaphores_;
	std::map<std::string, std::shared_ptr<LockAdaptor>> locks_;
};

} // namespace ipchub::bus
