// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>
#include <unordered_map>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace sdbus {
class IConnection;
class IProxy;
class Message;
} // namespace sdbus

namespace ipchub::bus {

// Who a caller is, computed once per unique name.
struct Peer {
	std::string name;
	uid_t uid = 0;
	pid_t pid = 0;
	// "" for a host caller; the app id of a Flatpak-sandboxed one.
	std::string appId;
	// A pidfd of the process that opened the connection: the identity holds while that
	// process runs (see Peers::identify).
	UniqueFd process;
};

// The identity of every peer that has called, dropped when it leaves the bus. Peers
// whose uid is not the service's own are refused with PermissionDenied.
class Peers
{
public:
	explicit Peers(sdbus::IConnection &connection);
	~Peers();

	// The identity of the message's sender. The first call for a peer asks the bus
	// (one GetConnectionCredentials round trip) and reads its /.flatpak-info through a
	// pidfd of its process (the bus's ProcessFD where it gives one, else pidfd_open of
	// its ProcessID), so that a reused pid is never read. The outcome, a refusal
	// included, is kept until the peer leaves, so the service waits on the bus at most
	// once per peer; but not a passing failure (the bus did not answer, the service is
	// out of descriptors), which the next call retries.
	// A connection is identified by the process that opened it: once that process has
	// exited, another process holds the socket (a child it left it to) and the pid may
	// be anyone's, so the peer's calls are refused from then on.
	Result<const Peer *> identify(const sdbus::Message &message);
	// The same, by the sender's unique name.
	Result<const Peer *> identify(const std::string &name);
	void forget(const std::string &name)
	{
		peers_.erase(name);
		propertyReader_.reset();
	}

	// Who is reading properties now (Properties.Get/GetAll, GetManagedObjects): sd-bus
	// runs property getters without the call, so the caller is noted beforehand and
	// cleared once the call has been handled. Empty while no such call is handled.
	void setPropertyReader(std::optional<Result<const Peer *>> reader)
	{
		propertyReader_ = std::move(reader);
	}
	const std::optional<Result<const Peer *>> &propertyReader() const
	{
		return propertyReader_;
	}

	// The peer of that unique name if it has been identified, without asking the bus.
	const Peer *find(const std::string &name) const
	{
		auto it = peers_.find(name);
		return it != peers_.end() && it->second ? &*it->second : nullptr;
	}

private:
	Result<Peer> lookUp(const std::string &name);

	std::unique_ptr<sdbus::IProxy> bus_;
	std::unordered_map<std::string, Result<Peer>> peers_;
	std::optional<Result<const Peer *>> propertyReader_;
};

} // namespace ipchub::bus
