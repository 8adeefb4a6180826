// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include "sd_bus_access.hpp"

namespace ipchub::bus {

// sd-bus gives up on its connection for good when it cannot take a message: one of
// 128 MiB or more (ENOBUFS: dbus-daemon forwards up to 128 MiB, and the sender's name
// it adds can take a message over), or one whose descriptors the kernel could not
// install at the descriptor limit (EXFULL). Either way it has read part of the message,
// so it can never find the next one, and ipchubd would have to leave the bus.
//
// The guard keeps the bus socket's reads at message boundaries: it stands in for
// recvmsg(2), which sd-bus reads the socket with, and for the guarded socket only
//  - reads and throws away a message that is too large before sd-bus sees a byte of
//    it, and hands sd-bus in its place the same call without its arguments, which a
//    filter answers with LimitExceeded naming the size and the limit;
//  - closes the descriptors of a message that could not get them all, so that sd-bus
//    drops that message as malformed (its sender gets no answer).
// Every other message is read as before.
class InputGuard
{
public:
	// Guards the socket of bus, which must be running and between two messages (a
	// synchronous call has just returned). One guard at a time.
	explicit InputGuard(sd_bus *bus);
	~InputGuard();
	InputGuard(const InputGuard &) = delete;
	InputGuard &operator=(const InputGuard &) = delete;

private:
	static int onMessage(sd_bus_message *message, void *userdata, sd_bus_error *error);

	SlotPtr slot_;
};

} // namespace ipchub::bus
