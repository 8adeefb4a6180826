// SPDX-License-Identifier: LGPL-2.1-or-later
#include "daemon.hpp"

#include <iostream>
#include <map>

#include "core/access.hpp"

namespace ipchub::bus {

Daemon::Daemon(sdbus::IConnection &connection, EventLoop &loop, const core::Limits &limits,
	       bool verbose)
	: verbose_(verbose), connection_(connection), hub_(limits),
	  fdStore_(hub_, FdStore::managerListens()), peers_(connection),
	  delivery_(connection, peers_, hub_.limits()),
	  manager_(connection, Context{hub_, peers_, loop, delivery_}),
	  pathGuard_(connection, peers_, hub_)
{
	// Only names that lose their owner: arg2 (the new owner) is empty.
	nameOwnerChanged_ = connection.addMatch(
		"type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
		"interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
		[this](sdbus::Message &message) { onNameOwnerChanged(message); });
	// Matches run before sd-bus hands a call to the object, so property getters
	// can check who reads them (see Peers::setPropertyReader), and readers are told
	// of the object's changes from then on (see Interests).
	for (const char *interface :
	     {"org.freedesktop.DBus.Properties", "org.freedesktop.DBus.ObjectManager",
	      "org.freedesktop.DBus.Introspectable"})
		propertyReads_.push_back(connection.addMatch(
			std::string("type='method_call',interface='") + interface + "'",
			[this](sdbus::Message &message) { onInspection(message); }));
	loop.setMessageDoneHandler([this] { peers_.setPropertyReader(std::nullopt); });
}

void Daemon::restore()
{
	auto bus = sdbus::createProxy(connection_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
	// The match on NameOwnerChanged is in place already: a holder that leaves after
	// this check is dropped as usual.
	// Asked once per name: thousands of objects may name the same few holders.
	std::map<std::string, bool> known;
	const auto isPresent = [this, &bus, &known](const std::string &name) {
		if (!name.starts_with(':'))
			return false;
		if (auto it = known.find(name); it != known.end())
			return it->second;
		bool present = false;
		try {
			bus->callMethod("NameHasOwner")
				.onInterface("org.freedesktop.DBus")
				.withArguments(name)
				.storeResultsTo(present);
		} catch (const sdbus::Error &e) {
			std::cerr << "ipchubd: NameHasOwner(" << name << "): " << e.getMessage() << "\n";
		}
		known.emplace(name, present);
		// What it held counts against its account again.
		if (present)
			if (auto peer = peers_.identify(name))
				enroll(hub_.quota, **peer);
		return present;
	};
	if (fdStore_.restore(isPresent))
		manager_.publishAll();
}

void Daemon::onInspection(sdbus::Message &message)
{
	auto reader = peers_.identify(message);
	const std::string member = message.getMemberName();
	if (reader && member == "GetManagedObjects")
		delivery_.interests().watch(**reader);
	else if (reader && (member == "Get" || member == "GetAll" || member == "Introspect"))
		delivery_.interests().join(message.getPath(), **reader);
	if (message.getInterfaceName() == "org.freedesktop.DBus.Introspectable")
		return;
	// sd-bus builds GetManagedObjects' answer from every registered object, whoever
	// asks, and a match cannot answer a call itself (sdbus-c++ 1.2 lets no exception
	// out of one): a sandboxed reader is refused it through the getters instead, so
	// the reply is this error, not the objects of other scopes.
	if (reader && member == "GetManagedObjects")
		if (auto listing = core::access::checkListAll((*reader)->appId); !listing)
			reader = errorOf(listing);
	peers_.setPropertyReader(std::move(reader));
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
	delivery_.forget(name);
	peers_.forget(name);
}

} // namespace ipchub::bus
