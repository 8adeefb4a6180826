// SPDX-License-Identifier: LGPL-2.1-or-later
#include "flatpak_sandbox.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <poll.h>
#include <stdexcept>
#include <string_view>
#include <sys/prctl.h>
#include <unistd.h>

namespace ipchub::test {

namespace {

// The parts of the host a Flatpak sandbox sees, as flatpak lays them out: the runtime
// in /usr (here the host's own), merged-/usr links, /etc, fresh /proc, /dev, /tmp.
std::vector<std::string> baseArguments(const std::string &infoPath)
{
	return {"bwrap",
		"--ro-bind",
		"/usr",
		"/usr",
		"--symlink",
		"usr/bin",
		"/bin",
		"--symlink",
		"usr/sbin",
		"/sbin",
		"--symlink",
		"usr/lib",
		"/lib",
		"--symlink",
		"usr/lib64",
		"/lib64",
		"--ro-bind",
		"/etc",
		"/etc",
		"--proc",
		"/proc",
		"--dev",
		"/dev",
		"--tmpfs",
		"/tmp",
		"--ro-bind",
		infoPath,
		"/.flatpak-info",
		"--unshare-pid",
		"--unshare-ipc",
		"--die-with-parent"};
}

// The path of a unix:path= bus address, empty for any other.
std::string socketPath(const std::string &address)
{
	const std::string prefix = "unix:path=";
	if (!address.starts_with(prefix))
		return {};
	return address.substr(prefix.size(), address.find(',') - prefix.size());
}

std::string buildRoot()
{
	const char *root = std::getenv("IPCHUB_BUILD_ROOT");
	return root ? root : "";
}

// Whether program is an executable file in a directory of PATH, as execvp finds it.
bool installed(const std::string &program)
{
	const char *path = std::getenv("PATH");
	std::string_view dirs = path ? path : "/usr/bin:/bin";
	while (!dirs.empty()) {
		const auto end = dirs.find(':');
		std::string dir(dirs.substr(0, end));
		dirs = end == std::string_view::npos ? std::string_view{} : dirs.substr(end + 1);
		if (access(((dir.empty() ? "." : dir) + "/" + program).c_str(), X_OK) == 0)
			return true;
	}
	return false;
}

// Whether the root directory is a mount point, as it is on a booted system and in a
// container, and not in a plain chroot: bubblewrap makes "/" a slave mount first, which
// only a mount point can be.
bool rootIsAMountPoint()
{
	std::ifstream mountinfo("/proc/self/mountinfo");
	for (std::string line; std::getline(mountinfo, line);) {
		// ID PARENT MAJOR:MINOR ROOT MOUNT-POINT ...
		std::istringstream fields(line);
		std::string id, parent, device, root, mountPoint;
		if (fields >> id >> parent >> device >> root >> mountPoint && mountPoint == "/")
			return true;
	}
	return false;
}

} // namespace

std::optional<std::string> sandboxUnavailable()
{
	for (const char *program : {"bwrap", "xdg-dbus-proxy"})
		if (!installed(program))
			return std::string(program) + " is not installed";
	// Not a failure of the sandbox: no sandbox can start where "/" is no mount point.
	if (!rootIsAMountPoint())
		return std::string("the root directory is not a mount point (a chroot): "
				   "bubblewrap cannot make a sandbox in it");
	return std::nullopt;
}

std::optional<std::string> sandboxStartError()
{
	auto probe = ipchub::test::run({"bwrap",     "--ro-bind",     "/usr",	   "/usr",
					"--symlink", "usr/lib",	      "/lib",	   "--symlink",
					"usr/lib64", "/lib64",	      "--symlink", "usr/bin",
					"/bin",	     "--proc",	      "/proc",	   "--dev",
					"/dev",	     "--unshare-pid", "--",	   "true"});
	if (probe.status != 0)
		return "bubblewrap is installed but cannot make a sandbox here (status " +
		       std::to_string(probe.status) + "): " + probe.err;
	if (auto version = ipchub::test::run({"xdg-dbus-proxy", "--version"}); version.status != 0)
		return "xdg-dbus-proxy is installed but does not run (status " +
		       std::to_string(version.status) + "): " + version.err;
	return std::nullopt;
}

FlatpakApp::FlatpakApp(const std::string &busAddress, const std::string &appId) : appId_(appId)
{
	char pattern[] = "/tmp/ipchub-flatpak-XXXXXX";
	if (!mkdtemp(pattern))
		throw std::runtime_error("mkdtemp failed");
	dir_ = pattern;
	std::ofstream(dir_ + "/info") << "[Application]\nname=" << appId
				      << "\nruntime=runtime/org.example.Platform/x86_64/1\n\n"
					 "[Instance]\ninstance-id=1\n";

	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		throw std::runtime_error("pipe2 failed");
	std::vector<std::string> argv = baseArguments(dir_ + "/info");
	argv.insert(argv.end(), {"--bind", dir_, dir_});
	if (auto path = socketPath(busAddress); !path.empty())
		argv.insert(argv.end(), {"--bind", path, path});
	argv.insert(argv.end(), {"--", "xdg-dbus-proxy", "--fd=3", busAddress, dir_ + "/bus",
				 "--filter", "--talk=io.github.ipchub1"});
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		// fd 3 is inherited by bwrap and passed on to the proxy.
		dup2(ready[1], 3);
		std::vector<char *> args;
		for (auto &arg : argv)
			args.push_back(arg.data());
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	close(ready[1]);
	proxy_ = Child(pid);
	proxyReady_ = ready[0];
	// The proxy writes one byte once its socket listens.
	pollfd poll{ready[0], POLLIN, 0};
	char byte;
	if (::poll(&poll, 1, 10000) != 1 || read(ready[0], &byte, 1) != 1)
		throw std::runtime_error("xdg-dbus-proxy for " + appId + " did not get ready");
}

FlatpakApp::~FlatpakApp()
{
	// Closing the pipe stops the proxy; the kill makes sure.
	close(proxyReady_);
	proxy_.kill();
	unlink((dir_ + "/bus").c_str());
	unlink((dir_ + "/info").c_str());
	rmdir(dir_.c_str());
}

std::vector<std::string> FlatpakApp::command(const std::vector<std::string> &argv) const
{
	const std::string runtimeDir = "/run/user/" + std::to_string(getuid());
	std::vector<std::string> command = baseArguments(dir_ + "/info");
	command.insert(command.end(),
		       {"--dir", runtimeDir, "--bind", dir_ + "/bus", runtimeDir + "/bus",
			"--setenv", "XDG_RUNTIME_DIR", runtimeDir, "--setenv",
			"DBUS_SESSION_BUS_ADDRESS", "unix:path=" + runtimeDir + "/bus"});
	// The built programs and libraries, read-only.
	if (const std::string root = buildRoot(); !root.empty())
		command.insert(command.end(), {"--ro-bind", root, root});
	command.push_back("--");
	command.insert(command.end(), argv.begin(), argv.end());
	return command;
}

CommandResult FlatpakApp::run(const std::vector<std::string> &argv,
			      std::chrono::milliseconds timeout) const
{
	return ipchub::test::run(command(argv), timeout);
}

Conversation::Conversation(const std::vector<std::string> &argv)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		throw std::runtime_error("pipe2 failed");
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		std::vector<char *> args;
		for (const auto &arg : argv)
			args.push_back(const_cast<char *>(arg.c_str()));
		args.push_back(nullptr);
		execvp(args[0], args.data());
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	child_ = Child(pid);
	in_ = in[1];
	out_ = out[0];
}

Conversation::~Conversation()
{
	if (in_ >= 0)
		close(in_);
	child_.kill();
	close(out_);
}

std::string Conversation::ask(const std::string &line, std::chrono::milliseconds timeout)
{
	const std::string sent = line + "\n";
	if (write(in_, sent.data(), sent.size()) != static_cast<ssize_t>(sent.size()))
		return "closed";
	return readLine(timeout);
}

std::string Conversation::readLine(std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		if (auto end = buffered_.find('\n'); end != std::string::npos) {
			std::string answer = buffered_.substr(0, end);
			buffered_.erase(0, end + 1);
			return answer;
		}
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
			deadline - std::chrono::steady_clock::now());
		pollfd poll{out_, POLLIN, 0};
		if (left.count() <= 0 || ::poll(&poll, 1, static_cast<int>(left.count())) != 1)
			return "timeout";
		char chunk[4096];
		const ssize_t n = read(out_, chunk, sizeof chunk);
		if (n <= 0)
			return "closed";
		buffered_.append(chunk, static_cast<size_t>(n));
	}
}

int Conversation::finish()
{
	close(in_);
	in_ = -1;
	return child_.wait();
}

std::string sandboxClientPath()
{
	const char *path = std::getenv("IPCHUB_SANDBOX_CLIENT");
	return path ? path : "ipchub-sandbox-client";
}

} // namespace ipchub::test
