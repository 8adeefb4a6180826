// SPDX-License-Identifier: LGPL-2.1-or-later
// Persistent state under a stand-in fd store (NOTIFY_SOCKET): a persistent lock's
// Acquire+Release pair against a plain lock's, with 0, 1,000 and 5,000 other
// persistent objects, and the restore of 5,000 objects after kill -9.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <ipchub/ipchub.hpp>

#include "bench_env.hpp"

namespace ipchub::bench {
namespace {

// Keeps what ipchubd stores, by FDNAME, as systemd does.
class Store
{
public:
	Store() : name_("ipchub-bench-notify-" + std::to_string(getpid()))
	{
		fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		sockaddr_un address{};
		address.sun_family = AF_UNIX;
		std::memcpy(address.sun_path + 1, name_.data(), name_.size());
		if (bind(fd_, reinterpret_cast<sockaddr *>(&address),
			 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
						name_.size())) < 0)
			throw std::runtime_error("notify socket");
		setenv("NOTIFY_SOCKET", ("@" + name_).c_str(), 1);
		receiver_ = std::thread([this] { receive(); });
	}
	~Store()
	{
		stop_ = true;
		receiver_.join();
		for (auto &[name, fd] : fds_)
			close(fd);
		close(fd_);
	}
	size_t size()
	{
		std::lock_guard guard(mutex_);
		return fds_.size();
	}
	// Starts ipchubd with the kept fds, as systemd does after a crash.
	pid_t startDaemon(const std::vector<std::string> &args)
	{
		std::vector<std::pair<std::string, int>> kept;
		{
			std::lock_guard guard(mutex_);
			for (const auto &[name, fd] : fds_)
				kept.emplace_back(name, fd);
		}
		const char *daemon = std::getenv("IPCHUBD");
		const pid_t pid = fork();
		if (pid != 0)
			return pid;
		std::vector<int> high;
		for (const auto &[name, fd] : kept)
			// Above the range they go to, so that no dup2 overwrites one still to move.
			high.push_back(fcntl(fd, F_DUPFD, static_cast<int>(3 + kept.size())));
		std::string names;
		for (size_t i = 0; i < kept.size(); ++i) {
			dup2(high[i], static_cast<int>(3 + i));
			names += (i ? ":" : "") + kept[i].first;
		}
		setenv("LISTEN_FDS", std::to_string(kept.size()).c_str(), 1);
		setenv("LISTEN_FDNAMES", names.c_str(), 1);
		setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
		std::vector<char *> argv{const_cast<char *>(daemon)};
		for (const auto &arg : args)
			argv.push_back(const_cast<char *>(arg.c_str()));
		argv.push_back(nullptr);
		execv(daemon, argv.data());
		_exit(127);
	}

private:
	void receive()
	{
		while (!stop_) {
			pollfd ready{fd_, POLLIN, 0};
			if (poll(&ready, 1, 50) <= 0)
				continue;
			char text[4096];
			alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
			iovec iov{text, sizeof(text) - 1};
			msghdr message{};
			message.msg_iov = &iov;
			message.msg_iovlen = 1;
			message.msg_control = control;
			message.msg_controllen = sizeof(control);
			const ssize_t n = recvmsg(fd_, &message, MSG_CMSG_CLOEXEC);
			if (n < 0)
				continue;
			int fd = -1;
			if (cmsghdr *c = CMSG_FIRSTHDR(&message); c && c->cmsg_type == SCM_RIGHTS)
				std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
			const std::string body(text, static_cast<size_t>(n));
			const auto at = body.find("FDNAME=");
			const std::string name =
				at == std::string::npos
					? ""
					: body.substr(at + 7, body.find('\n', at) - at - 7);
			std::lock_guard guard(mutex_);
			if (body.find("FDSTORE=1") != std::string::npos && fd >= 0) {
				if (auto old = fds_.find(name); old != fds_.end())
					close(old->second);
				fds_[name] = fd;
			} else if (body.find("FDSTOREREMOVE=1") != std::string::npos) {
				if (auto old = fds_.find(name); old != fds_.end()) {
					close(old->second);
					fds_.erase(old);
				}
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}

	std::string name_;
	int fd_ = -1;
	std::mutex mutex_;
	std::map<std::string, int> fds_;
	std::atomic<bool> stop_{false};
	std::thread receiver_;
};

const std::vector<std::string> kArgs{"--objects-per-connection=20000"};
BenchEnv *env;
Store *store;
// Holds the other persistent objects' references.
std::optional<Client> keeper;
std::vector<Lock> others;
// The grant each of them holds, in the same order.
std::vector<LockGuard> held;

// Exactly count other persistent locks (the benchmarks run in random order).
void persistentOthers(size_t count)
{
	while (others.size() > count) {
		held.pop_back();
		if (!keeper->remove(others.back().path()))
			throw std::runtime_error("remove");
		others.pop_back();
	}
	while (others.size() < count) {
		auto lock = keeper->createLock("other-" + std::to_string(others.size()),
					       {.persistent = true});
		if (!lock)
			throw std::runtime_error(lock.error().message);
		// Each held, as a used lock is: the grants come back too.
		auto guard = lock->acquire(LockMode::Exclusive, kForever);
		if (!guard)
			throw std::runtime_error(guard.error().message);
		held.push_back(std::move(*guard));
		others.push_back(std::move(*lock));
	}
}

void PersistentVsPlain(benchmark::State &state, size_t count)
{
	persistentOthers(count);
	auto client = Client::connect(env->address());
	auto plain = client ? client->createLock("plain", {.openExisting = true})
			    : Result<Lock>(fail(ErrorCode::Failed, "no connection"));
	auto kept = client ? client->createLock("kept", {.openExisting = true, .persistent = true})
			   : Result<Lock>(fail(ErrorCode::Failed, "no connection"));
	if (!plain || !kept) {
		state.SkipWithError("no locks");
		return;
	}
	const auto pair = [](Lock &lock) {
		auto guard = lock.acquire(LockMode::Exclusive, kForever);
		if (!guard || !guard->release())
			throw std::runtime_error("Acquire or Release failed");
	};
	compareInterleaved(
		state, *env, [&] { pair(*plain); }, [&] { pair(*kept); });
}

bool owned(sdbus::IConnection &connection)
{
	auto bus = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
	bool has = false;
	bus->callMethod("NameHasOwner")
		.onInterface("org.freedesktop.DBus")
		.withArguments(std::string("io.github.ipchub1"))
		.storeResultsTo(has);
	return has;
}

pid_t current;

// kill -9 of ipchubd with 5,000 persistent objects, then a new one from the store:
// the time from its start until it owns the name (restore included).
void RestoreOf5000(benchmark::State &state)
{
	persistentOthers(5000);
	auto connection = sdbus::createSessionBusConnectionWithAddress(env->address());
	for (auto _ : state) {
		kill(current, SIGKILL);
		if (current != env->ipchubdPid())
			waitpid(current, nullptr, 0);
		while (owned(*connection))
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		const auto start = std::chrono::steady_clock::now();
		current = store->startDaemon(kArgs);
		while (!owned(*connection)) {
			if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30)) {
				state.SkipWithError("ipchubd did not come back");
				return;
			}
			std::this_thread::sleep_for(std::chrono::microseconds(200));
		}
		state.SetIterationTime(
			std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
				.count());
	}
	// The objects are back, and still held by their holder. (Not through a second
	// Lock of the keeper: closing it would give back what the keeper holds.)
	if (others.back().mode().value_or(LockState::Unlocked) != LockState::Exclusive)
		state.SkipWithError("the restored lock is not held");
}

} // namespace
} // namespace ipchub::bench

int main(int argc, char **argv)
{
	using namespace ipchub::bench;
	Store store;
	ipchub::bench::store = &store;
	BenchEnv env(kArgs);
	ipchub::bench::env = &env;
	current = env.ipchubdPid();
	auto client = ipchub::Client::connect(env.address());
	if (!client)
		return 1;
	keeper.emplace(std::move(*client));
	for (size_t count : {0, 1000, 5000})
		benchmark::RegisterBenchmark(("PersistentVsPlain/" + std::to_string(count)).c_str(),
					     PersistentVsPlain, count)
			->Iterations(1)
			->Unit(benchmark::kMillisecond);
	benchmark::RegisterBenchmark("RestoreOf5000", RestoreOf5000)
		->Iterations(1)
		->UseManualTime()
		->Unit(benchmark::kMillisecond);
	const int status =
		runWithRatios(argc, argv,
			      {{"persistent / plain lock pair, no other persistent objects",
				"PersistentVsPlain/0:ratio", ""},
			       {"persistent / plain lock pair, 1,000 other persistent objects",
				"PersistentVsPlain/1000:ratio", ""},
			       {"persistent / plain lock pair, 5,000 other persistent objects",
				"PersistentVsPlain/5000:ratio", ""},
			       {"persistent / plain pair, 5,000 others, CPU of all processes",
				"PersistentVsPlain/5000:cpu_ratio", ""},
			       {"restore of 5,000 persistent locks after kill -9, ns",
				"RestoreOf5000", ""}});
	held.clear();
	others.clear();
	keeper.reset();
	if (current != env.ipchubdPid()) {
		kill(current, SIGTERM);
		waitpid(current, nullptr, 0);
	}
	return status;
}
