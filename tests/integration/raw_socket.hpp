// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once
// A hand-made D-Bus client, for what no D-Bus library sends: strings that are not
// UTF-8 (sd-bus and GDBus refuse them) and messages past what the receiver reads.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace ipchub::test {

class RawSocket
{
public:
	explicit RawSocket(const std::string &address)
	{
		const std::string prefix = "unix:path=";
		const std::string path =
			address.substr(prefix.size(), address.find(',') - prefix.size());
		sockaddr_un where{};
		where.sun_family = AF_UNIX;
		std::strncpy(where.sun_path, path.c_str(), sizeof where.sun_path - 1);
		fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		timeval timeout{5, 0};
		setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
		if (connect(fd_, reinterpret_cast<sockaddr *>(&where), sizeof where) < 0)
			throw std::runtime_error("cannot connect to " + address);
		std::string uid;
		for (char c : std::to_string(getuid()))
			uid += "3" + std::string(1, c);
		send(std::string(1, '\0') + "AUTH EXTERNAL " + uid + "\r\n");
		if (receive().find("OK") != 0)
			throw std::runtime_error("the bus refused the handshake");
		send("BEGIN\r\n");
	}
	// Takes over a socket connected (and greeted) elsewhere.
	explicit RawSocket(int connected) : fd_(connected)
	{
		timeval timeout{5, 0};
		setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
	}
	~RawSocket() { close(fd_); }
	int fd() const { return fd_; }

	// Says Hello; what the bus answered (the reply and NameAcquired).
	std::string greet()
	{
		send(methodCall(1, "org.freedesktop.DBus", "/org/freedesktop/DBus",
				"org.freedesktop.DBus", "Hello", "", ""));
		std::string greeting;
		for (int reads = 0;
		     reads < 10 && greeting.find("NameAcquired") == std::string::npos; ++reads)
			greeting += receive();
		return greeting;
	}
	// Receives until text has arrived (or 20 reads); all that arrived.
	std::string receiveUntil(const std::string &text)
	{
		std::string answer;
		for (int reads = 0; reads < 20 && answer.find(text) == std::string::npos; ++reads) {
			const std::string chunk = receive();
			if (chunk.empty())
				break;
			answer += chunk;
		}
		return answer;
	}
	// Manager.OpenSemaphore(key, {}).
	static std::string openSemaphore(uint32_t serial, const std::string &key)
	{
		std::string body = u32(static_cast<uint32_t>(key.size())) + key + '\0';
		while (body.size() % 4)
			body.push_back('\0');
		body += u32(0);
		while (body.size() % 8)
			body.push_back('\0');
		return methodCall(serial, "io.github.ipchub1", "/io/github/ipchub1", "io.github.ipchub1.Manager",
				  "OpenSemaphore", "sa{sv}", body);
	}

	void send(const std::string &bytes) { (void)!::send(fd_, bytes.data(), bytes.size(), 0); }
	// What arrives next; empty when the bus closed the connection.
	std::string receive()
	{
		char buffer[4096];
		const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
		return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
	}

	// A little-endian method call with body of signature.
	static std::string methodCall(uint32_t serial, const std::string &destination,
				      const std::string &path, const std::string &interface,
				      const std::string &member, const std::string &signature,
				      const std::string &body)
	{
		std::string fields;
		const auto pad = [](std::string &s, size_t to) {
			while (s.size() % to)
				s.push_back('\0');
		};
		const auto field = [&](char code, char type, const std::string &value) {
			pad(fields, 8);
			fields += std::string{code, 1, type, '\0'};
			if (type == 'g') {
				fields += std::string(1, static_cast<char>(value.size())) + value +
					  '\0';
				return;
			}
			fields += u32(static_cast<uint32_t>(value.size())) + value + '\0';
		};
		field(1, 'o', path);
		if (!interface.empty())
			field(2, 's', interface);
		field(3, 's', member);
		field(6, 's', destination);
		if (!signature.empty())
			field(8, 'g', signature);
		std::string message = std::string{'l', 1, 0, 1} +
				      u32(static_cast<uint32_t>(body.size())) + u32(serial) +
				      u32(static_cast<uint32_t>(fields.size())) + fields;
		pad(message, 8);
		return message + body;
	}
	static std::string u32(uint32_t value)
	{
		return std::string{static_cast<char>(value & 0xff),
				   static_cast<char>((value >> 8) & 0xff),
				   static_cast<char>((value >> 16) & 0xff),
				   static_cast<char>(value >> 24)};
	}

private:
	int fd_ = -1;
};


} // namespace ipchub::test
