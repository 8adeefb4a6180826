// SPDX-License-Identifier: LGPL-2.1-or-later
#include "child.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

namespace ipchub::ctl {

namespace {

volatile sig_atomic_t childPid = 0;

void forwardSignal(int signal)
{
	if (childPid > 0)
		kill(childPid, signal);
}

// The dispositions runCommand changes, put back when it returns (and in the child).
class SignalDispositions
{
public:
	SignalDispositions()
	{
		struct sigaction ignore = {};
		ignore.sa_handler = SIG_IGN;
		struct sigaction forward = {};
		forward.sa_handler = forwardSignal;
		sigemptyset(&forward.sa_mask);
		for (size_t i = 0; i < kCount; ++i)
			sigaction(kSignals[i], i < 2 ? &ignore : &forward, &saved_[i]);
	}
	~SignalDispositions() { restore(); }
	SignalDispositions(const SignalDispositions &) = delete;
	SignalDispositions &operator=(const SignalDispositions &) = delete;

	void restore()
	{
		for (size_t i = 0; i < kCount; ++i)
			sigaction(kSignals[i], &saved_[i], nullptr);
	}

private:
	static constexpr size_t kCount = 4;
	static constexpr int kSignals[kCount] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
	struct sigaction saved_[kCount] = {};
};

[[noreturn]] void execCommand(const std::vector<std::string> &command)
{
	std::vector<char *> argv;
	for (const auto &arg : command)
		argv.push_back(const_cast<char *>(arg.c_str()));
	argv.push_back(nullptr);
	execvp(argv[0], argv.data());
	const int error = errno;
	std::fprintf(stderr, "ipchubctl: %s: %s\n", argv[0], std::strerror(error));
	_exit(error == ENOENT ? 127 : 126);
}

} // namespace

Result<int> runCommand(const std::vector<std::string> &command)
{
	// Forwarded signals are held back until childPid names the child.
	sigset_t forwarded, previous;
	sigemptyset(&forwarded);
	sigaddset(&forwarded, SIGTERM);
	sigaddset(&forwarded, SIGHUP);
	sigprocmask(SIG_BLOCK, &forwarded, &previous);
	SignalDispositions dispositions;

	std::fflush(stdout);
	const pid_t pid = fork();
	if (pid < 0) {
		const int error = errno;
		sigprocmask(SIG_SETMASK, &previous, nullptr);
		return fail(ErrorCode::Failed, std::string("cannot fork: ") + std::strerror(error));
	}
	if (pid == 0) {
		dispositions.restore();
		sigprocmask(SIG_SETMASK, &previous, nullptr);
		execCommand(command);
	}
	childPid = pid;
	sigprocmask(SIG_SETMASK, &previous, nullptr);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	childPid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace ipchub::ctl
