// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fd_store_manager.hpp"

#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace ipchub::test {

namespace {

sockaddr_un abstractAddress(const std::string &name, socklen_t &length)
{
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	// An abstract socket ("@name"): nothing to clean up in the file system.
	std::memcpy(address.sun_path + 1, name.data(), name.size());
	length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
	return address;
}

std::string field(const std::string &message, const std::string &key)
{
	size_t at = 0;
	while (at < message.size()) {
		size_t end = message.find('\n', at);
		if (end == std::string::npos)
			end = message.size();
		const std::string line = message.substr(at, end - at);
		if (line.starts_with(key + "="))
			return line.substr(key.size() + 1);
		at = end + 1;
	}
	return {};
}

} // namespace

FdStoreManager::FdStoreManager()
	: socketName_("ipchub-test-notify-" + std::to_string(getpid())),
	  socket_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0))
{
	socklen_t length = 0;
	const auto address = abstractAddress(socketName_, length);
	if (!socket_ ||
	    bind(socket_.get(), reinterpret_cast<const sockaddr *>(&address), length) < 0)
		throw std::runtime_error(std::string("notify socket: ") + std::strerror(errno));
	// Drained all the time: ipchubd's sd_notify would block on a full socket.
	receiver_ = std::thread([this] { receive(); });
}

FdStoreManager::~FdStoreManager()
{
	stop_ = true;
	receiver_.join();
}

void FdStoreManager::receive()
{
	while (!stop_) {
		pollfd ready{socket_.get(), POLLIN, 0};
		if (poll(&ready, 1, 50) <= 0)
			continue;
		char text[4096];
		alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
		iovec iov{text, sizeof(text) - 1};
		msghdr message{};
		message.msg_iov = &iov;
		message.msg_iovlen = 1;
		message.msg_control = control;
		message.msg_controllen = sizeof(control);
		const ssize_t n = recvmsg(socket_.get(), &message, MSG_CMSG_CLOEXEC);
		if (n < 0)
			continue;
		std::vector<UniqueFd> fds;
		for (cmsghdr *c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < count; ++i) {
				int fd;
				std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				fds.emplace_back(fd);
			}
		}
		const std::string body(text, static_cast<size_t>(n));
		const std::string name = field(body, "FDNAME");
		std::lock_guard guard(mutex_);
		if (field(body, "FDSTORE") == "1" && fds.size() == 1) {
			++stored_;
			// systemd: "Cannot store more fds than FileDescriptorStoreMax=".
			if (fds_.size() >= max_) {
				++dropped_;
				continue;
			}
			fds_[name.empty() ? "stored" : name] = std::move(fds.front());
		} else if (field(body, "FDSTOREREMOVE") == "1") {
			fds_.erase(name);
		}
	}
}

std::vector<std::string> FdStoreManager::names()
{
	std::lock_guard guard(mutex_);
	std::vector<std::string> names;
	for (const auto &[name, fd] : fds_)
		names.push_back(name);
	return names;
}

int FdStoreManager::fd(const std::string &name)
{
	std::lock_guard guard(mutex_);
	auto it = fds_.find(name);
	return it == fds_.end() ? -1 : it->second.get();
}

Child FdStoreManager::startDaemon(const std::vector<std::string> &args)
{
	std::vector<std::pair<std::string, int>> kept;
	{
		std::lock_guard guard(mutex_);
		for (const auto &[name, fd] : fds_)
			kept.emplace_back(name, fcntl(fd.get(), F_DUPFD_CLOEXEC, 100));
	}
	const std::string daemon = ipchubdPath();
	const std::string notify = "@" + socketName_;
	Child child = forkChild([&] {
		// What systemd does between fork and exec: fds at 3.., LISTEN_PID this pid.
		std::string names;
		for (size_t i = 0; i < kept.size(); ++i) {
			const int target = static_cast<int>(3 + i);
			if (dup2(kept[i].second, target) < 0)
				return 97;
			names += (i ? ":" : "") + kept[i].first;
		}
		if (!kept.empty()) {
			setenv("LISTEN_FDS", std::to_string(kept.size()).c_str(), 1);
			setenv("LISTEN_FDNAMES", names.c_str(), 1);
			setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
		}
		setenv("NOTIFY_SOCKET", notify.c_str(), 1);
		std::vector<char *> argv{const_cast<char *>(daemon.c_str())};
		for (const auto &arg : args)
			argv.push_back(const_cast<char *>(arg.c_str()));
		argv.push_back(nullptr);
		execv(daemon.c_str(), argv.data());
		return 98;
	});
	for (auto &[name, fd] : kept)
		close(fd);
	return child;
}

} // namespace ipchub::test
