// SPDX-License-Identifier: LGPL-2.1-or-later
#include "input_guard.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <endian.h>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>

#include "common/result.hpp"

namespace ipchub::bus {

namespace {

// What sd-bus reads at most (BUS_MESSAGE_SIZE_MAX): a message of this size or more
// makes it fail.
constexpr uint64_t kLargestReadable = uint64_t{128} << 20;
// The fixed part of every message's header: endianness, type, flags, version, body
// length, serial, length of the header fields.
constexpr size_t kFixedHeader = 16;
// Header fields past this are not read for the answer to a dropped call.
constexpr size_t kLargestHeader = 64 * 1024;
// The most descriptors one message can carry (the kernel's SCM_MAX_FD).
constexpr size_t kMostDescriptors = 253;
// Dropped calls whose stand-in has not been answered yet; more than this many at
// once cannot happen, as sd-bus dispatches each stand-in before it reads further.
constexpr size_t kMostDropped = 16;

// A call too large to read: its stand-in is answered with this.
struct Dropped {
	std::string sender;
	uint32_t serial;
	uint64_t size;
};

struct Stream {
	int fd = -1;
	// The size of the message being read, 0 between messages.
	uint64_t size = 0;
	// How much of it sd-bus has read.
	uint64_t read = 0;
	// How much of a message too large for sd-bus is still to be thrown away.
	uint64_t discard = 0;
	// The stand-in for the dropped message, and how much of it sd-bus has read.
	std::string standIn;
	size_t standInRead = 0;
	std::deque<Dropped> dropped;
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

uint64_t align(uint64_t value, uint64_t to)
{
	return (value + to - 1) & ~(to - 1);
}

uint32_t u32At(const std::string &bytes, size_t at)
{
	uint32_t value = 0;
	std::memcpy(&value, bytes.data() + at, sizeof value);
	return bytes[0] == 'l' ? le32toh(value) : be32toh(value);
}

// The size of the message whose header starts with header; 0 if it is no header.
uint64_t messageSize(const std::string &header)
{
	if (header[0] != 'l' && header[0] != 'B')
		return 0;
	return kFixedHeader + align(u32At(header, 12), 8) + u32At(header, 4);
}

void appendU32(std::string &to, uint32_t value)
{
	value = htole32(value);
	to.append(reinterpret_cast<const char *>(&value), sizeof value);
}

// The same call as the method call whose header is header, without arguments or
// descriptors, little-endian; nothing if header is no method call that wants a reply
// or is cut short.
std::optional<std::pair<std::string, Dropped>> standInFor(const std::string &header, uint64_t size)
{
	constexpr uint8_t kMethodCall = 1;
	constexpr uint8_t kNoReplyExpected = 1;
	if (static_cast<uint8_t>(header[1]) != kMethodCall || (header[2] & kNoReplyExpected))
		return std::nullopt;
	const size_t end = kFixedHeader + u32At(header, 12);
	std::string fields;
	std::string sender;
	for (size_t at = kFixedHeader; at < end;) {
		at = align(at, 8);
		if (at + 4 > end || header[at + 1] != 1 || header[at + 3] != '\0')
			return std::nullopt;
		const uint8_t code = static_cast<uint8_t>(header[at]);
		const char type = header[at + 2];
		const size_t start = at;
		at += 4;
		if (type == 'g') {
			if (at >= end)
				return std::nullopt;
			at += 1 + static_cast<uint8_t>(header[at]) + 1;
		} else if (type == 's' || type == 'o') {
			at = align(at, 4);
			if (at + 4 > end)
				return std::nullopt;
			const uint32_t length = u32At(header, at);
			if (length > end)
				return std::nullopt;
			if (code == 7)
				sender.assign(header, at + 4, length);
			at += 4 + length + 1;
		} else if (type == 'u') {
			at = align(at, 4) + 4;
		} else {
			return std::nullopt;
		}
		if (at > end)
			return std::nullopt;
		// Path, interface, member, destination, sender: what addresses the call.
		if (code == 1 || code == 2 || code == 3 || code == 6 || code == 7) {
			if (type != 's' && type != 'o')
				return std::nullopt;
			const uint32_t length = u32At(header, align(start + 4, 4));
			fields.resize(align(fields.size(), 8), '\0');
			fields += std::string{static_cast<char>(code), 1, type, '\0'};
			appendU32(fields, length);
			fields.append(header, align(start + 4, 4) + 4, length);
			fields.push_back('\0');
		}
	}
	if (sender.empty())
		return std::nullopt;
	const uint32_t serial = u32At(header, 8);
	std::string message{'l', static_cast<char>(kMethodCall), header[2], 1};
	appendU32(message, 0);
	appendU32(message, serial);
	appendU32(message, static_cast<uint32_t>(fields.size()));
	message += fields;
	message.resize(align(message.size(), 8), '\0');
	return std::pair{std::move(message), Dropped{std::move(sender), serial, size}};
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

// Hands sd-bus what it asks for of the stand-in.
ssize_t readStandIn(msghdr *message)
{
	size_t copied = 0;
	for (size_t i = 0; i < message->msg_iovlen; ++i) {
		const size_t n = std::min(message->msg_iov[i].iov_len,
					  stream.standIn.size() - stream.standInRead);
		std::memcpy(message->msg_iov[i].iov_base,
			    stream.standIn.data() + stream.standInRead, n);
		stream.standInRead += n;
		copied += n;
	}
	message->msg_controllen = 0;
	message->msg_flags = 0;
	if (stream.standInRead == stream.standIn.size()) {
		stream.standIn.clear();
		stream.standInRead = 0;
	}
	return static_cast<ssize_t>(copied);
}

// recvmsg on the guarded socket, for sd-bus.
ssize_t guardedRecvmsg(msghdr *message, int flags)
{
	for (;;) {
		if (!stream.standIn.empty())
			return readStandIn(message);
		if (stream.discard > 0) {
			if (const ssize_t n = discardLarge(); n <= 0)
				return n;
			continue;
		}
		if (stream.size > 0)
			break;
		// Between messages: look at the next one's header before sd-bus reads it.
		std::string header(kFixedHeader, '\0');
		const ssize_t n =
			recv(stream.fd, header.data(), header.size(), MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0)
			return n;
		if (static_cast<size_t>(n) < header.size()) {
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
			  << " bytes from the bus: ipchubd reads messages of less than "
			  << kLargestReadable << " bytes\n";
		stream.discard = size;
		// The header, if it is all there, to answer the call.
		const uint64_t headerSize = kFixedHeader + align(u32At(header, 12), 8);
		if (headerSize > kLargestHeader)
			continue;
		header.resize(headerSize);
		if (recv(stream.fd, header.data(), header.size(), MSG_PEEK | MSG_DONTWAIT) !=
		    static_cast<ssize_t>(header.size()))
			continue;
		if (auto standIn = standInFor(header, size)) {
			stream.standIn = std::move(standIn->first);
			stream.standInRead = 0;
			if (stream.dropped.size() == kMostDropped)
				stream.dropped.pop_front();
			stream.dropped.push_back(std::move(standIn->second));
		}
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

InputGuard::InputGuard(sd_bus *bus)
{
	sd_bus_slot *slot = nullptr;
	if (sd_bus_add_filter(bus, &slot, &InputGuard::onMessage, this) < 0)
		throw std::runtime_error("sd_bus_add_filter failed");
	slot_.reset(slot);
	stream = Stream{};
	stream.fd = sd_bus_get_fd(bus);
}

InputGuard::~InputGuard()
{
	stream = Stream{};
}

int InputGuard::onMessage(sd_bus_message *message, void *, sd_bus_error *)
{
	if (stream.dropped.empty() || !sd_bus_message_is_method_call(message, nullptr, nullptr))
		return 0;
	const char *sender = sd_bus_message_get_sender(message);
	uint64_t cookie = 0;
	if (!sender || sd_bus_message_get_cookie(message, &cookie) < 0)
		return 0;
	const auto dropped =
		std::find_if(stream.dropped.begin(), stream.dropped.end(), [&](const auto &d) {
			return d.serial == cookie && d.sender == sender;
		});
	if (dropped == stream.dropped.end())
		return 0;
	const uint64_t size = dropped->size;
	stream.dropped.erase(dropped);
	sd_bus_reply_method_errorf(message, dbusErrorName(ErrorCode::LimitExceeded).c_str(),
				   "the call is %llu bytes; ipchubd reads messages of less "
				   "than %llu bytes",
				   static_cast<unsigned long long>(size),
				   static_cast<unsigned long long>(kLargestReadable));
	return 1;
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
