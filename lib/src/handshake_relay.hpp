// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "common/unique_fd.hpp"
#include "ipchub/result.hpp"

namespace ipchub::detail {

// Stands between sd-bus and a bus that cannot take sd-bus's pipelined SASL
// handshake. sd-bus sends AUTH, NEGOTIATE_UNIX_FD and BEGIN in one write;
// xdg-dbus-proxy before 0.1.5 (Debian 12 has 0.1.4), which Flatpak puts between an
// app and the session bus, then reads the bus's OK as a message and drops the
// client. The relay hands the handshake on one line at a time, waiting for each
// answer, and from BEGIN on passes bytes and file descriptors through unchanged.
class HandshakeRelay
{
public:
	// Listens on a private abstract socket for this process's sd-bus connection to
	// the bus at busAddress (a unix:path= or unix:abstract= address).
	static Result<std::unique_ptr<HandshakeRelay>> start(const std::string &busAddress);
	~HandshakeRelay();
	HandshakeRelay(const HandshakeRelay &) = delete;
	HandshakeRelay &operator=(const HandshakeRelay &) = delete;

	// The address to give sd-bus.
	const std::string &address() const { return address_; }

private:
	HandshakeRelay(UniqueFd listener, UniqueFd upstream, std::string address);
	void run();

	UniqueFd listener_;
	UniqueFd downstream_;
	UniqueFd upstream_;
	std::string address_;
	std::thread thread_;
};

// Whether this process runs in a Flatpak sandbox, where the session bus is
// xdg-dbus-proxy. IPCHUB_BUS_RELAY=1 or 0 forces the answer.
bool needsHandshakeRelay();

} // namespace ipchub::detail
