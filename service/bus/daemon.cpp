#include "daemon.hpp"

namespace ipchub::bus {

Daemon::Daemon(sdbus::IConnection &connection, EventLoop &loop, const core::Limits &limits)
	: hub_(limits), manager_(connection, Context{hub_, peers_, loop})
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
	hub_.dropClient(name);
	peers_.forget(name);
}

} // namespace ipchub::bus
