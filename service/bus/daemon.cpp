#include "daemon.hpp"

#include <iostream>

namespace ipchub::bus {

Daemon::Daemon(sdbus::IConnection &connection, EventLoop &loop, const core::Limits &limits,
	       bool verbose)
	: verbose_(verbose), hub_(limits), manager_(connection, Context{hub_, peers_, loop})
{
	// Only names that lose their owner: arg2 (the new owner) is empty.
	nameOwnerChanged_ = connection.addMatch(
		"type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
		"interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
		[this](sdbus::Message &message) { onNameOwnerChanged(message); });
}

void Daemon::onNameOwnerChanged(sdbus::Message &message)
{
	std::string name, oldOwner, newOwner;
	message >> name >> oldOwner >> newOwner;
	if (!name.starts_with(':') || !newOwner.empty())
		return;
	if (verbose_ && hub_.quota.inUse(name))
		std::cerr << "ipchubd: " << name << " left the bus; giving back what it held\n";
	hub_.dropClient(name);
	peers_.forget(name);
}

} // namespace ipchub::bus
