// SPDX-License-Identifier: LGPL-2.1-or-later
// Scopes as a Flatpak-sandboxed caller sees them. A child connects, then chroots into
// a directory holding a .flatpak-info, so that ipchubd, reading
// /proc/PID/root/.flatpak-info as xdg-desktop-portal does, takes it for the app
// org.example.Sandboxed. Needs CAP_SYS_CHROOT; skipped without it.

#include <fstream>
#include <sys/stat.h>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SandboxTest = IpchubTest;

constexpr const char *kApp = "org.example.Sandboxed";
constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";

// The outcome of a step, as the child reports it: "ok" or the error's short name.
template <typename T>
std::string outcome(const Result<T> &result)
{
	return result ? "ok" : std::string(errorCodeName(result.error().code));
}

std::string outcomeOf(const std::function<void()> &call)
{
	try {
		call();
		return "ok";
	} catch (const sdbus::Error &e) {
		return std::string(errorCodeName(errorCodeFromDbusName(e.getName()))) + " (" +
		       e.getName() + ")";
	}
}

class SandboxRoot
{
public:
	SandboxRoot()
	{
		char pattern[] = "/tmp/ipchub-sandbox-XXXXXX";
		if (!mkdtemp(pattern))
			throw std::runtime_error("mkdtemp failed");
		path_ = pattern;
		std::ofstream(path_ + "/.flatpak-info")
			<< "[Application]\nname=" << kApp
			<< "\nruntime=runtime/org.example.Platform\n";
	}
	~SandboxRoot()
	{
		unlink((path_ + "/.flatpak-info").c_str());
		rmdir(path_.c_str());
	}
	const std::string &path() const { return path_; }

private:
	std::string path_;
};

TEST_F(SandboxTest, ScopesAndAllowedAppsForASandboxedCaller)
{
	auto host = connect();
	auto privateSem = host.createSemaphore("private", 1);
	auto shared = host.createSemaphore("shared", 1, {.allowedApps = {kApp}});
	auto otherApp = host.createSemaphore("other-app", 1, {.scope = "org.example.Other"});
	ASSERT_TRUE(privateSem && shared && otherApp);

	SandboxRoot root;
	int report[2];
	ASSERT_EQ(pipe(report), 0);
	Child app = forkChild([&] {
		close(report[0]);
		auto client = Client::connect(address());
		auto raw = sdbus::createSessionBusConnectionWithAddress(address());
		std::string lines;
		// Kept until the child is killed.
		std::vector<Semaphore> kept;
		auto step = [&](const std::string &name, const std::string &result) {
			lines += name + " " + result + "\n";
		};
		if (!client || chroot(root.path().c_str()) != 0 || chdir("/") != 0) {
			step("chroot", "failed");
		} else {
			auto openedShared = client->openSemaphore("shared", {.scope = ""});
			step("open-shared-host", outcome(openedShared));
			if (openedShared) {
				step("acquire-shared", outcome(openedShared->acquire(1, 0us)));
				kept.push_back(std::move(*openedShared));
			}
			step("open-shared-own-scope", outcome(client->openSemaphore("shared")));
			step("open-private",
			     outcome(client->openSemaphore("private", {.scope = ""})));
			step("open-other-app",
			     outcome(client->openSemaphore("other-app",
							   {.scope = "org.example.Other"})));
			step("open-missing-other-app",
			     outcome(client->openSemaphore("missing",
							   {.scope = "org.example.Other"})));
			step("create-host",
			     outcome(client->createSemaphore("x", 1, {.scope = ""})));
			step("create-other-app",
			     outcome(client->createSemaphore("x", 1,
							     {.scope = "org.example.Other"})));
			auto mine = client->createSemaphore("mine", 1);
			step("create-own", outcome(mine));
			if (mine) {
				step("own-path", mine->path());
				kept.push_back(std::move(*mine));
			}
			step("create-own-explicit",
			     outcome(client->createSemaphore("mine", 1, {.scope = kApp})));
			step("remove-private",
			     outcome(client->remove("/io/github/ipchub1/semaphore/private")));

			// Guessed paths: methods and properties check the caller too.
			auto proxy = sdbus::createProxy(*raw, "io.github.ipchub1",
							"/io/github/ipchub1/semaphore/private");
			step("release-private", outcomeOf([&] {
				     proxy->callMethod("Release")
					     .onInterface(kSemaphoreInterface)
					     .withArguments(1u);
			     }));
			step("read-private", outcomeOf([&] {
				     proxy->getProperty("Value").onInterface(kSemaphoreInterface);
			     }));
			step("read-shared", outcomeOf([&] {
				     sdbus::createProxy(*raw, "io.github.ipchub1",
							"/io/github/ipchub1/semaphore/shared")
					     ->getProperty("Value")
					     .onInterface(kSemaphoreInterface);
			     }));
		}
		(void)!write(report[1], lines.data(), lines.size());
		close(report[1]);
		pause();
		return 0;
	});
	close(report[1]);
	std::map<std::string, std::string> steps;
	std::string line;
	for (char c; read(report[0], &c, 1) == 1;) {
		if (c != '\n') {
			line.push_back(c);
			continue;
		}
		const auto space = line.find(' ');
		steps[line.substr(0, space)] = line.substr(space + 1);
		line.clear();
		if (steps.size() == 1 && steps.contains("chroot"))
			break;
		if (steps.contains("read-shared"))
			break;
	}
	if (steps.contains("chroot"))
		GTEST_SKIP() << "cannot chroot here (needs CAP_SYS_CHROOT)";

	const std::map<std::string, std::string> expected{
		{"open-shared-host", "ok"},
		{"acquire-shared", "ok"},
		{"open-shared-own-scope", "NotFound"},
		{"open-private", "PermissionDenied"},
		{"open-other-app", "PermissionDenied"},
		{"open-missing-other-app", "PermissionDenied"},
		{"create-host", "PermissionDenied"},
		{"create-other-app", "PermissionDenied"},
		{"create-own", "ok"},
		{"own-path", "/io/github/ipchub1/semaphore/org_2eexample_2eSandboxed/mine"},
		{"create-own-explicit", "AlreadyExists"},
		{"remove-private", "PermissionDenied"},
		{"release-private", "PermissionDenied (io.github.ipchub1.Error.PermissionDenied)"},
		{"read-private", "PermissionDenied (io.github.ipchub1.Error.PermissionDenied)"},
		{"read-shared", "ok"},
	};
	for (const auto &[name, result] : expected)
		EXPECT_EQ(steps[name], result) << name;

	// The host sees the app's semaphore in the app's scope, and the app as a holder.
	auto mine = host.openSemaphore("mine", {.scope = kApp});
	ASSERT_TRUE(mine) << mine.error().message;
	EXPECT_EQ(shared->holders().value().size(), 1u);
	EXPECT_EQ(privateSem->value().value(), 1u);
	app.kill(SIGKILL);
	EXPECT_TRUE(waitFor([&] { return shared->value().value_or(0) == 1; }));
}

} // namespace
} // namespace ipchub::test
