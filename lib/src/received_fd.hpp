// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>

#include <sdbus-c++/sdbus-c++.h>

#include "common/unique_fd.hpp"

namespace ipchub::detail {

// Reads the next unix fd of message (a reply being read with >>) as a descriptor of
// this process's own, close-on-exec from the start. sdbus-c++ 1.2 reads an fd with a
// plain dup(), which drops close-on-exec: a program another thread runs in between
// would inherit it (read-write, for a writable shared-memory object). sd-bus received the fd
// close-on-exec and keeps it until the message goes; F_DUPFD_CLOEXEC copies it as it
// is. Throws sdbus::Error, as the message's own reads do.
UniqueFd readFd(sdbus::Message &message);

// Calls method of interface on proxy with args and returns the reply unread, for the
// replies that carry descriptors; timeoutUsec 0 is the connection's default.
template <typename... Args>
sdbus::MethodReply callForReply(sdbus::IProxy &proxy, const char *interface, const char *method,
				uint64_t timeoutUsec, const Args &...args)
{
	auto call = proxy.createMethodCall(interface, method);
	(call << ... << args);
	return proxy.callMethod(call, timeoutUsec);
}

} // namespace ipchub::detail
