// SPDX-License-Identifier: LGPL-2.1-or-later
#include "handshake_relay.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace ipchub::detail {

namespace {

// The socket address of a unix:path= or unix:abstract= D-Bus address (the first
// such entry of a ;-separated list), with its %-escapes decoded.
Result<sockaddr_un> parseUnixAddress(const std::string &busAddress, socklen_t &length)
{
	size_t start = 0;
	while (start <= busAddress.size()) {
		size_t end = busAddress.find(';', start);
		if (end == std::string::npos)
			end = busAddress.size();
		const std::string entry = busAddress.substr(start, end - start);
		start = end + 1;
		if (!entry.starts_with("unix:"))
			continue;
		for (const std::string key : {"path=", "abstract="}) {
			size_t at = entry.find(key, 5);
			if (at == std::string::npos || (entry[at - 1] != ':' && entry[at - 1] != ','))
				continue;
			std::string value;
			for (size_t i = at + key.size(); i < entry.size() && entry[i] != ','; ++i) {
				if (entry[i] == '%' && i + 2 < entry.size()) {
					value.push_back(static_cast<char>(
						std::stoi(entry.substr(i + 1, 2), nullptr, 16)));
					i += 2;
				} else {
					value.push_back(entry[i]);
				}
			}
			sockaddr_un address{};
			address.sun_family = AF_UNIX;
			const bool abstract = key == "abstract=";
			if (value.size() + (abstract ? 1 : 0) >= sizeof(address.sun_path))
				return fail(ErrorCode::InvalidArgument, "bus socket path is too long");
			std::memcpy(address.sun_path + (abstract ? 1 : 0), value.data(), value.size());
			// One more byte: the path's NUL, or the abstract name's leading NUL.
			length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() + 1);
			return address;
		}
	}
	return fail(ErrorCode::InvalidArgument,
		    "bus address \"" + busAddress + "\" names no unix socket");
}

bool sendAll(int fd, const char *data, size_t size, std::vector<UniqueFd> *fds = nullptr)
{
	while (size > 0) {
		iovec iov{const_cast<char *>(data), size};
		msghdr message{};
		message.msg_iov = &iov;
		message.msg_iovlen = 1;
		std::vector<char> control;
		if (fds && !fds->empty()) {
			control.resize(CMSG_SPACE(sizeof(int) * fds->size()));
			message.msg_control = control.data();
			message.msg_controllen = control.size();
			cmsghdr *header = CMSG_FIRSTHDR(&message);
			header->cmsg_level = SOL_SOCKET;
			header->cmsg_type = SCM_RIGHTS;
			header->cmsg_len = CMSG_LEN(sizeof(int) * fds->size());
			int *out = reinterpret_cast<int *>(CMSG_DATA(header));
			for (size_t i = 0; i < fds->size(); ++i)
				out[i] = (*fds)[i].get();
		}
		const ssize_t sent = sendmsg(fd, &message, MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		// The descriptors went with the first part; the kernel holds copies now.
		if (fds)
			fds->clear();
		data += sent;
		size -= static_cast<size_t>(sent);
	}
	return true;
}

// One line of the handshake, without its \r\n; false at the end of the stream.
bool readLine(int fd, std::string &buffer, std::string &line)
{
	for (;;) {
		const size_t end = buffer.find("\r\n");
		if (end != std::string::npos) {
			line = buffer.substr(0, end);
			buffer.erase(0, end + 2);
			return true;
		}
		if (buffer.size() > 16384)
			return false;
		char chunk[512];
		const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buffer.append(chunk, static_cast<size_t>(n));
	}
}

// Hands sd-bus's pipelined handshake to the bus one line at a time, each answer back
// to sd-bus before the next line goes out; true once BEGIN has gone.
bool handshake(int client, int bus)
{
	std::string fromClient;
	char nul = 0;
	// The handshake opens with a NUL byte (where credentials travel).
	ssize_t n;
	do
		n = recv(client, &nul, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1 || nul != '\0' || !sendAll(bus, &nul, 1))
		return false;
	// The bus only answers, one line per command, until it has seen BEGIN: reading
	// its lines through a buffer cannot swallow message bytes.
	std::string fromBus;
	for (std::string line; readLine(client, fromClient, line);) {
		if (line == "BEGIN") {
			const std::string begin = "BEGIN\r\n";
			return sendAll(bus, begin.data(), begin.size()) &&
			       sendAll(bus, fromClient.data(), fromClient.size());
		}
		line += "\r\n";
		std::string answer;
		if (!sendAll(bus, line.data(), line.size()) || !readLine(bus, fromBus, answer))
			return false;
		answer += "\r\n";
		if (!sendAll(client, answer.data(), answer.size()))
			return false;
	}
	return false;
}

// Where D-Bus messages start in a byte stream that begins at a message, from the
// fixed 16-byte header of each: endianness, type, flags, version, body length,
// serial, length of the header fields (padded to 8), then the body.
class MessageFraming
{
public:
	// The offset in data of the last message that starts there; npos if none does.
	size_t lastStart(const char *data, size_t size)
	{
		size_t last = std::string::npos;
		size_t at = 0;
		while (at < size) {
			if (remaining_ > 0) {
				const size_t skipped = std::min<uint64_t>(remaining_, size - at);
				remaining_ -= skipped;
				at += skipped;
				continue;
			}
			if (header_.empty())
				last = at;
			const size_t taken = std::min(size - at, 16 - header_.size());
			header_.append(data + at, taken);
			at += taken;
			if (header_.size() == 16) {
				remaining_ = messageLength() - 16;
				header_.clear();
			}
		}
		return last;
	}

private:
	uint64_t field(size_t offset) const
	{
		const auto *bytes = reinterpret_cast<const unsigned char *>(header_.data() + offset);
		const bool little = header_[0] == 'l';
		uint64_t value = 0;
		for (int i = 0; i < 4; ++i)
			value |= uint64_t(bytes[little ? i : 3 - i]) << (8 * i);
		return value;
	}
	uint64_t messageLength() const
	{
		const uint64_t fields = (field(12) + 7) / 8 * 8;
		return 16 + fields + field(4);
	}

	std::string header_;
	uint64_t remaining_ = 0;
};

// Passes bytes and descriptors from one socket to the other until either side ends.
// With framing (the bus's side, which starts at a message after the handshake), the
// descriptors go with the first byte of the message they came with: one read may
// join the bytes of earlier messages to the message the descriptors travel with (the
// kernel stops a read only after them), and sd-bus takes descriptors for the message
// it is reading when they arrive.
void pump(int from, int to, MessageFraming *framing = nullptr)
{
	std::vector<char> data(65536);
	// A D-Bus message carries at most 253 descriptors.
	std::vector<char> control(CMSG_SPACE(sizeof(int) * 253));
	for (;;) {
		iovec iov{data.data(), data.size()};
		msghdr message{};
		message.msg_iov = &iov;
		message.msg_iovlen = 1;
		message.msg_control = control.data();
		message.msg_controllen = control.size();
		const ssize_t n = recvmsg(from, &message, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		std::vector<UniqueFd> fds;
		for (cmsghdr *header = CMSG_FIRSTHDR(&message); header;
		     header = CMSG_NXTHDR(&message, header)) {
			if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS)
				continue;
			const size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const int *in = reinterpret_cast<const int *>(CMSG_DATA(header));
			for (size_t i = 0; i < count; ++i)
				fds.emplace_back(in[i]);
		}
		if (message.msg_flags & MSG_CTRUNC)
			break;
		size_t split = 0;
		if (framing) {
			split = framing->lastStart(data.data(), static_cast<size_t>(n));
			if (fds.empty() || split == std::string::npos)
				split = 0;
		}
		if (!sendAll(to, data.data(), split) ||
		    !sendAll(to, data.data() + split, static_cast<size_t>(n) - split, &fds))
			break;
	}
	shutdown(from, SHUT_RDWR);
	shutdown(to, SHUT_RDWR);
}

} // namespace

bool needsHandshakeRelay()
{
	if (const char *forced = std::getenv("IPCHUB_BUS_RELAY"))
		return std::strcmp(forced, "1") == 0;
	return access("/.flatpak-info", F_OK) == 0;
}

Result<std::unique_ptr<HandshakeRelay>> HandshakeRelay::start(const std::string &busAddress)
{
	socklen_t busLength = 0;
	auto busSocket = parseUnixAddress(busAddress, busLength);
	if (!busSocket)
		return errorOf(busSocket);
	UniqueFd upstream(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!upstream || connect(upstream.get(), reinterpret_cast<sockaddr *>(&*busSocket),
				 busLength) < 0) {
		const int error = errno;
		return fail(ErrorCode::Failed,
			    "cannot connect to the bus at " + busAddress + ": " + std::strerror(error));
	}

	static std::atomic<unsigned> counter{0};
	const std::string name = "ipchub-relay-" + std::to_string(getpid()) + "-" +
				 std::to_string(counter++) + "-" +
				 std::to_string(std::random_device{}());
	sockaddr_un local{};
	local.sun_family = AF_UNIX;
	std::memcpy(local.sun_path + 1, name.data(), name.size());
	const auto localLength =
		static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
	UniqueFd listener(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!listener || bind(listener.get(), reinterpret_cast<sockaddr *>(&local), localLength) < 0 ||
	    listen(listener.get(), 1) < 0) {
		const int error = errno;
		return fail(ErrorCode::Failed,
			    std::string("cannot listen for the bus relay: ") + std::strerror(error));
	}
	return std::unique_ptr<HandshakeRelay>(
		new HandshakeRelay(std::move(listener), std::move(upstream), "unix:abstract=" + name));
}

HandshakeRelay::HandshakeRelay(UniqueFd listener, UniqueFd upstream, std::string address)
	: listener_(std::move(listener)), upstream_(std::move(upstream)), address_(std::move(address))
{
	thread_ = std::thread([this] { run(); });
}

HandshakeRelay::~HandshakeRelay()
{
	// Wakes the thread wherever it waits: in accept, or reading the bus; sd-bus's
	// side is closed already, as the connection goes before the relay.
	shutdown(listener_.get(), SHUT_RDWR);
	shutdown(upstream_.get(), SHUT_RDWR);
	thread_.join();
}

void HandshakeRelay::run()
{
	int accepted;
	do
		accepted = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
	while (accepted < 0 && errno == EINTR);
	if (accepted < 0)
		return;
	UniqueFd client(accepted);
	// Only this process's own sd-bus may use the relay: anyone else in the network
	// namespace could reach the abstract socket.
	ucred peer{};
	socklen_t length = sizeof peer;
	if (getsockopt(client.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0 ||
	    peer.pid != getpid())
		return;
	downstream_ = std::move(client);
	if (!handshake(downstream_.get(), upstream_.get())) {
		shutdown(downstream_.get(), SHUT_RDWR);
		shutdown(upstream_.get(), SHUT_RDWR);
		return;
	}
	std::thread back([this] {
		MessageFraming framing;
		pump(upstream_.get(), downstream_.get(), &framing);
	});
	pump(downstream_.get(), upstream_.get());
	back.join();
}

} // namespace ipchub::detail
