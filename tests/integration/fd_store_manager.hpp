// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What systemd does for ipchubd's fd store, for the tests: a NOTIFY_SOCKET that keeps
// the fds sent with FDSTORE=1 (the latest per FDNAME, dropped on FDSTOREREMOVE=1), and
// starts ipchubd with them at fd 3.. and LISTEN_FDS, LISTEN_FDNAMES, LISTEN_PID.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"

#include "bus_fixture.hpp"

namespace ipchub::test {

class FdStoreManager
{
public:
	FdStoreManager();
	~FdStoreManager();
	FdStoreManager(const FdStoreManager &) = delete;
	FdStoreManager &operator=(const FdStoreManager &) = delete;

	// Starts ipchubd with NOTIFY_SOCKET, every fd kept so far and args.
	Child startDaemon(const std::vector<std::string> &args = {});
	// As FileDescriptorStoreMax=: past max fds, what is sent is closed, not kept.
	void setMax(size_t max) { max_ = max; }
	// FDSTORE=1 messages whose fd was closed for want of room.
	int dropped() const { return dropped_; }
	// The fd kept under name, or -1; it stays the manager's.
	int fd(const std::string &name);
	// The names of the fds kept now.
	std::vector<std::string> names();
	// FDSTORE=1 messages received so far.
	int stored() const { return stored_; }

private:
	void receive();

	std::string socketName_;
	UniqueFd socket_;
	std::mutex mutex_;
	std::map<std::string, UniqueFd> fds_;
	std::atomic<int> stored_{0};
	std::atomic<int> dropped_{0};
	std::atomic<size_t> max_{SIZE_MAX};
	std::atomic<bool> stop_{false};
	std::thread receiver_;
};

} // namespace ipchub::test
