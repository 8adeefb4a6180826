#include "input_guard.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <endian.h>
#include <iostream>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

namespace ipchub::bus {

namespace {

// What sd-bus reads at most (BUS_MESSAGE_SIZE_MAX): a message of this size or more
// makes it fail.
constexpr uint64_t kLargestReadable = uint64_t{128} << 20;
// The fixed part of every message's header: endianness, type, flags, version, body
// length, serial, length of the header fields.
constexpr size_t kFixedHeader = 16;
// The most descriptors one message can carry (the kernel's SCM_MAX_FD).
constexpr size_t kMostDescriptors = 253;

struct Stream {
	int fd = -1;
	// The size of the message being read, 0 between messages.
	uint64_t size = 0;
	// How much of it sd-bus has read.
	uint64_t read = 0;
	// How much of a message too large for sd-bus is still to be thrown away.
	uint64_t discard = 0;
};
// Only the loop's thread reads the bus.
Stream stream;

ssize_t systemRecvmsg(int fd, msghdr *message, int flags)
{
	return syscall(SYS_recvmsg, fd, message, flags);
}

void closeDescriptors(msghdr &message)
{
	for (cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; ++i) {
			int fd = -1;
			std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			close(fd);
		}
	}
}

// The size of the message whose header starts with header; 0 if it is no header.
uint64_t messageSize(const uint8_t *header)
{
	uint32_t body = 0;
	uint32_t fields = 0;
	std::memcpy(&body, header + 4, sizeof body);
	std::memcpy(&fields, header + 12, sizeof fields);
	if (header[0] == 'l') {
		body = le32toh(body);
		fields = le32toh(fields);
	} else if (header[0] == 'B') {
		body = be32toh(body);
		fields = be32toh(fields);
	} else {
		return 0;
	}
	return kFixedHeader + ((uint64_t{fields} + 7) & ~uint64_t{7}) + body;
}

// Reads and throws away what is left of a message too large for sd-bus. -1 with
// errno (EAGAIN: the rest has not arrived yet) or 0 (end of stream) when it must stop.
ssize_t discardLarge()
{
	static std::array<char, 64 * 1024> sink;
	alignas(cmsghdr) static std::array<char, CMSG_SPACE(sizeof(int) * kMostDescriptors)> control;
	while (stream.discard > 0) {
		iovec part{sink.data(),
			   static_cast<size_t>(std::min<uint64_t>(stream.discard, sink.size()))};
		msghdr message{};
		message.msg_iov = &part;
		message.msg_iovlen = 1;
		message.msg_control = control.data();
		message.msg_controllen = control.size();
		const ssize_t n =
			systemRecvmsg(stream.fd, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return n;
		closeDescriptors(message);
		stream.discard -= static_cast<uint64_t>(n);
	}
	return 1;
}

// recvmsg on the guarded socket, for sd-bus.
ssize_t guardedRecvmsg(msghdr *message, int flags)
{
	for (;;) {
		if (stream.discard > 0) {
			if (const ssize_t n = discardLarge(); n <= 0)
				return n;
			continue;
		}
		if (stream.size > 0)
			break;
		// Between messages: look at the next one's header before sd-bus reads it.
		uint8_t header[kFixedHeader];
		const ssize_t n = recv(stream.fd, header, sizeof header, MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0)
			return n;
		if (static_cast<size_t>(n) < sizeof header) {
			// dbus-daemon writes a header at once: the rest follows right away.
			errno = EAGAIN;
			return -1;
		}
		const uint64_t size = messageSize(header);
		if (size == 0) {
			// Not a message: sd-bus will say so and close; nothing to keep track of.
			const int fd = std::exchange(stream.fd, -1);
			return systemRecvmsg(fd, message, flags);
		}
		if (size < kLargestReadable) {
			stream.size = size;
			stream.read = 0;
			break;
		}
		std::cerr << "ipchubd: dropped a message of " << size
			  << " bytes from the bus: larger than ipchubd reads (less than "
			  << kLargestReadable << ")\n";
		stream.discard = size;
	}

	// Never past the end of this message, so the next one is looked at first.
	msghdr bounded = *message;
	std::array<iovec, 8> parts{};
	uint64_t left = stream.size - stream.read;
	size_t count = 0;
	for (size_t i = 0; i < message->msg_iovlen && count < parts.size() && left > 0; ++i) {
		parts[count] = message->msg_iov[i];
		parts[count].iov_len =
			static_cast<size_t>(std::min<uint64_t>(left, parts[count].iov_len));
		left -= parts[count].iov_len;
		++count;
	}
	bounded.msg_iov = parts.data();
	bounded.msg_iovlen = count;
	const ssize_t n = systemRecvmsg(stream.fd, &bounded, flags);
	message->msg_controllen = bounded.msg_controllen;
	message->msg_flags = bounded.msg_flags;
	message->msg_namelen = bounded.msg_namelen;
	if (n <= 0)
		return n;
	if (message->msg_flags & MSG_CTRUNC) {
		// The kernel could not install every descriptor (the process is at its
		// limit). Without the rest, sd-bus drops the message instead of failing.
		std::cerr << "ipchubd: dropped a message whose descriptors could not be "
			     "received (too many open files)\n";
		closeDescriptors(*message);
		message->msg_controllen = 0;
		message->msg_flags &= ~MSG_CTRUNC;
	}
	stream.read += static_cast<uint64_t>(n);
	if (stream.read == stream.size)
		stream.size = 0;
	return n;
}

} // namespace

void guardBusInput(int fd)
{
	stream = Stream{.fd = fd};
}

} // namespace ipchub::bus

// The process's recvmsg: sd-bus (libsystemd) calls it through the dynamic linker,
// which finds this definition in the executable first.
extern "C" ssize_t recvmsg(int fd, msghdr *message, int flags)
{
	using ipchub::bus::stream;
	if (fd < 0 || fd != stream.fd || (flags & MSG_PEEK))
		return ipchub::bus::systemRecvmsg(fd, message, flags);
	return ipchub::bus::guardedRecvmsg(message, flags);
}
