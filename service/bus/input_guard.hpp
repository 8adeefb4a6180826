#pragma once

namespace ipchub::bus {

// sd-bus gives up on its connection for good when it cannot take a message: one of
// 128 MiB or more (ENOBUFS: dbus-daemon forwards up to 128 MiB, and the sender's name
// it adds can take a message over), or one whose descriptors the kernel could not
// install at the descriptor limit (EXFULL). Either way it has read part of the message,
// so it can never find the next one, and ipchubd would have to leave the bus.
//
// The guard keeps the bus socket's reads at message boundaries: it stands in for
// recvmsg(2), which sd-bus reads the socket with, and for the guarded socket only it
// reads and throws away a message that is too large before sd-bus sees a byte of it,
// and closes the descriptors of a message that could not get them all, so that sd-bus
// drops that message as malformed. The sender's call gets no answer; every other
// message is read as before.

// Guards fd, the socket of a connection that is running and between two messages (a
// synchronous call has just returned).
void guardBusInput(int fd);

} // namespace ipchub::bus
