// SPDX-License-Identifier: LGPL-2.1-or-later
// A caller's identity through a pidfd, with no bus: the pid read back from the pidfd,
// and no identity for a process that has exited, even while its pid is still there to
// be read (a zombie) or has been reused.

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/process_identity.hpp"

namespace ipchub::core {
namespace {

// A child that waits to be killed.
class Sleeper
{
public:
	Sleeper()
	{
		pid_ = fork();
		if (pid_ == 0) {
			pause();
			_exit(0);
		}
	}
	~Sleeper()
	{
		if (pid_ > 0) {
			kill(pid_, SIGKILL);
			waitpid(pid_, nullptr, 0);
		}
	}
	pid_t pid() const { return pid_; }
	// Ends the child without reaping it: its pid stays taken, its /proc entry readable.
	void killUnreaped()
	{
		kill(pid_, SIGKILL);
		siginfo_t info{};
		waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
	}
	void reap()
	{
		waitpid(pid_, nullptr, 0);
		pid_ = -1;
	}

private:
	pid_t pid_ = -1;
};

TEST(ProcessIdentity, ARunningHostProcessIsTheHost)
{
	Sleeper child;
	ASSERT_GT(child.pid(), 0);
	auto pidfd = openPidfd(child.pid());
	ASSERT_TRUE(pidfd) << pidfd.error().message;
	EXPECT_EQ(pidOfPidfd(pidfd->get()).value(), child.pid());
	EXPECT_FALSE(hasExited(pidfd->get()));
	auto identity = identifyProcess(pidfd->get());
	ASSERT_TRUE(identity) << identity.error().message;
	EXPECT_EQ(identity->pid, child.pid());
	EXPECT_EQ(identity->appId, "");
}

TEST(ProcessIdentity, AnExitedProcessIsNobodyEvenWhileItsPidRemains)
{
	Sleeper child;
	auto pidfd = openPidfd(child.pid());
	ASSERT_TRUE(pidfd);
	child.killUnreaped();
	// Whatever /proc/PID gives for a zombie, the pidfd says the process is gone.
	EXPECT_TRUE(hasExited(pidfd->get()));
	auto identity = identifyProcess(pidfd->get());
	ASSERT_FALSE(identity);
	EXPECT_EQ(identity.error().code, ErrorCode::PermissionDenied);
	EXPECT_NE(identity.error().message.find("has exited"), std::string::npos)
		<< identity.error().message;

	child.reap();
	auto reaped = identifyProcess(pidfd->get());
	ASSERT_FALSE(reaped);
	EXPECT_EQ(reaped.error().code, ErrorCode::PermissionDenied);
}

TEST(ProcessIdentity, NoPidfdForAProcessThatIsGone)
{
	Sleeper child;
	const pid_t pid = child.pid();
	child.killUnreaped();
	child.reap();
	auto pidfd = openPidfd(pid);
	ASSERT_FALSE(pidfd);
	EXPECT_EQ(pidfd.error().code, ErrorCode::PermissionDenied);
}

TEST(ProcessIdentity, ADescriptorThatIsNoPidfdIdentifiesNobody)
{
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	UniqueFd read(fds[0]), write(fds[1]);
	auto pid = pidOfPidfd(read.get());
	ASSERT_FALSE(pid);
	EXPECT_EQ(pid.error().code, ErrorCode::PermissionDenied);
}

} // namespace
} // namespace ipchub::core
