// SPDX-License-Identifier: LGPL-2.1-or-later
#include "received_fd.hpp"

#include <cerrno>
#include <fcntl.h>

#include <systemd/sd-bus.h>

namespace ipchub::detail {

namespace {

// sdbus-c++ 1.2 has no public way to the sd_bus_message under a Message; a class
// derived from Message may name the protected member, and the pointer to it reads it
// from any Message.
class RawMessage : public sdbus::Message
{
public:
	static sd_bus_message *of(const sdbus::Message &message)
	{
		return static_cast<sd_bus_message *>(message.*(&RawMessage::msg_));
	}
};

} // namespace

UniqueFd readFd(sdbus::Message &message)
{
	int borrowed = -1;
	const int read =
		sd_bus_message_read_basic(RawMessage::of(message), SD_BUS_TYPE_UNIX_FD, &borrowed);
	if (read < 0)
		throw sdbus::createError(-read, "cannot read a descriptor of the reply");
	if (read == 0)
		throw sdbus::createError(EBADMSG, "the reply carries no descriptor");
	UniqueFd fd(fcntl(borrowed, F_DUPFD_CLOEXEC, 3));
	if (!fd)
		throw sdbus::createError(errno, "cannot take the reply's descriptor");
	return fd;
}

} // namespace ipchub::detail
