// SPDX-License-Identifier: LGPL-2.1-or-later
// Every error name of the contract that the Manager and semaphores produce, seen by
// raw clients (gdbus, dbus-send, busctl) with nothing but the bus.

#include <thread>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using ManagerErrorsTest = IpchubTest;

constexpr const char *kManager = "/io/github/ipchub1";
constexpr const char *kCreate = "io.github.ipchub1.Manager.CreateSemaphore";
constexpr const char *kOpen = "io.github.ipchub1.Manager.OpenSemaphore";
constexpr const char *kRemove = "io.github.ipchub1.Manager.Remove";
constexpr const char *kAcquire = "io.github.ipchub1.Semaphore.Acquire";
constexpr const char *kTryAcquire = "io.github.ipchub1.Semaphore.TryAcquire";
constexpr const char *kRelease = "io.github.ipchub1.Semaphore.Release";

std::string quoted(const std::string &text)
{
	return "'" + text + "'";
}

// gdbus prints "Error: GDBus.Error:<name>: <message>" and exits 1.
void expectGdbusError(const CommandResult &result, const std::string &name, const std::string &what)
{
	EXPECT_NE(result.status, 0) << what << ": " << result.out;
	EXPECT_NE(result.err.find("GDBus.Error:" + errorName(name) + ":"), std::string::npos)
		<< what << ": expected " << name << ", got: " << result.err;
}

void expectGdbusSuccess(const CommandResult &result, const std::string &what)
{
	EXPECT_EQ(result.status, 0) << what << ": " << result.err;
}

TEST_F(ManagerErrorsTest, InvalidKey)
{
	const std::string tooLong(256, 'k');
	expectGdbusError(gdbusCall(kManager, kCreate, {"''", "1", "{}"}), "InvalidKey",
			 "create with an empty key");
	auto longCreate = gdbusCall(kManager, kCreate, {quoted(tooLong), "1", "{}"});
	expectGdbusError(longCreate, "InvalidKey", "create with a 256-byte key");
	// The message names the size and the limit.
	EXPECT_NE(longCreate.err.find("256"), std::string::npos) << longCreate.err;
	EXPECT_NE(longCreate.err.find("255"), std::string::npos) << longCreate.err;
	expectGdbusError(gdbusCall(kManager, kOpen, {"''", "{}"}), "InvalidKey",
			 "open with an empty key");
	expectGdbusError(gdbusCall(kManager, kOpen, {quoted(tooLong), "{}"}), "InvalidKey",
			 "open with a 256-byte key");
	expectGdbusSuccess(gdbusCall(kManager, kCreate, {quoted(std::string(255, 'k')), "1", "{}"}),
			   "create with a 255-byte key");
}

TEST_F(ManagerErrorsTest, InvalidArgumentFromOptions)
{
	const std::vector<std::pair<std::string, std::string>> cases{
		{"{'bogus': <true>}", "unknown option"},
		{"{'max': <'5'>}", "max as s"},
		{"{'max': <5>}", "max as i"},
		{"{'persistent': <'yes'>}", "persistent as s"},
		{"{'open_existing': <uint32 1>}", "open_existing as u"},
		{"{'return_on_exit': <1>}", "return_on_exit as i"},
		{"{'allowed_apps': <'org.example.App'>}", "allowed_apps as s"},
		{"{'scope': <['org.example.App']>}", "scope as as"},
		{"{'max': <uint32 0>}", "max 0"},
	};
	for (const auto &[options, what] : cases)
		expectGdbusError(gdbusCall(kManager, kCreate, {"'jobs'", "1", options}),
				 "InvalidArgument", what);
	expectGdbusError(gdbusCall(kManager, kCreate, {"'jobs'", "4", "{'max': <uint32 3>}"}),
			 "InvalidArgument", "initial above max");
	expectGdbusError(gdbusCall(kManager, kOpen, {"'jobs'", "{'open_existing': <true>}"}),
			 "InvalidArgument", "an option Open does not take");
	expectGdbusError(gdbusCall(kManager, kOpen, {"'jobs'", "{'scope': <5>}"}),
			 "InvalidArgument", "open with scope as i");
	// None of them created anything.
	expectGdbusError(gdbusCall(kManager, kOpen, {"'jobs'", "{}"}), "NotFound",
			 "open after the failed creates");
	expectGdbusSuccess(gdbusCall(kManager, kCreate,
				     {"'jobs'", "3",
				      "{'max': <uint32 3>, 'persistent': <true>, "
				      "'open_existing': <false>, 'return_on_exit': <true>, "
				      "'allowed_apps': <['org.example.App']>, 'scope': <''>}"}),
			   "create with every option");
}

TEST_F(ManagerErrorsTest, BusctlMessagesNameTheArgument)
{
	// busctl prints the message only: it says what was wrong with which argument.
	auto wrongType = run({"busctl", "--user", "call", "io.github.ipchub1", kManager,
			      "io.github.ipchub1.Manager", "CreateSemaphore", "sua{sv}", "jobs",
			      "1", "1", "max", "s", "5"});
	EXPECT_NE(wrongType.status, 0);
	EXPECT_NE(wrongType.err.find("max"), std::string::npos) << wrongType.err;
	auto unknown = run({"busctl", "--user", "call", "io.github.ipchub1", kManager,
			    "io.github.ipchub1.Manager", "CreateSemaphore", "sua{sv}", "jobs", "1",
			    "1", "colour", "s", "red"});
	EXPECT_NE(unknown.status, 0);
	EXPECT_NE(unknown.err.find("colour"), std::string::npos) << unknown.err;
	auto created = run({"busctl", "--user", "call", "io.github.ipchub1", kManager,
			    "io.github.ipchub1.Manager", "CreateSemaphore", "sua{sv}", "a/b c", "1",
			    "1", "persistent", "b", "true"});
	EXPECT_EQ(created.status, 0) << created.err;
	EXPECT_EQ(created.out, "o \"/io/github/ipchub1/semaphore/a_2fb_20c\"\n");
}

TEST_F(ManagerErrorsTest, AlreadyExistsAndNotFound)
{
	expectGdbusError(gdbusCall(kManager, kOpen, {"'jobs'", "{}"}), "NotFound", "open absent");
	expectGdbusSuccess(gdbusCall(kManager, kCreate, {"'jobs'", "1", "{'persistent': <true>}"}),
			   "create persistent");
	expectGdbusError(gdbusCall(kManager, kCreate, {"'jobs'", "1", "{}"}), "AlreadyExists",
			 "create twice");
	auto opened = gdbusCall(kManager, kCreate, {"'jobs'", "1", "{'open_existing': <true>}"});
	expectGdbusSuccess(opened, "create with open_existing");
	EXPECT_NE(opened.out.find("/io/github/ipchub1/semaphore/jobs"), std::string::npos);
	expectGdbusSuccess(gdbusCall(kManager, kOpen, {"'jobs'", "{}"}), "open present");

	for (const char *path : {"/io/github/ipchub1/semaphore/nothing", "/", kManager,
				 "/io/github/ipchub1/semaphore"})
		expectGdbusError(gdbusCall(kManager, kRemove, {quoted(path)}), "NotFound",
				 std::string("remove ") + path);
	expectGdbusSuccess(gdbusCall(kManager, kRemove, {"'/io/github/ipchub1/semaphore/jobs'"}),
			   "remove");
	expectGdbusError(gdbusCall(kManager, kRemove, {"'/io/github/ipchub1/semaphore/jobs'"}),
			 "NotFound", "remove twice");
	expectGdbusError(gdbusCall(kManager, kOpen, {"'jobs'", "{}"}), "NotFound", "open removed");

	// dbus-send shows the same names.
	auto sent = run({"dbus-send", "--session", "--print-reply", "--dest=io.github.ipchub1",
			 kManager, "io.github.ipchub1.Manager.Remove", "objpath:/nothing"});
	EXPECT_NE(sent.status, 0);
	EXPECT_NE(sent.err.find("Error " + errorName("NotFound") + ":"), std::string::npos)
		<< sent.err;
}

TEST_F(ManagerErrorsTest, SemaphoreMethodErrors)
{
	// Created by a library client that stays connected: gdbus's connections come and go.
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0, {.max = 3});
	ASSERT_TRUE(semaphore);
	const std::string path = semaphore->path();

	expectGdbusError(gdbusCall(path, kAcquire, {"1", "0"}), "WouldBlock", "try once");
	auto timedOut = gdbusCall(path, kAcquire, {"1", "100000"});
	expectGdbusError(timedOut, "Timeout", "acquire for 100 ms");
	expectGdbusError(gdbusCall(path, kAcquire, {"0", "0"}), "InvalidArgument", "acquire 0");
	expectGdbusError(gdbusCall(path, kAcquire, {"0", "100000"}), "InvalidArgument",
			 "acquire 0 with a timeout");
	expectGdbusError(gdbusCall(path, kAcquire, {"4", "100000"}), "InvalidArgument",
			 "acquire above max");
	expectGdbusError(gdbusCall(path, kTryAcquire, {"0"}), "InvalidArgument", "try 0");
	expectGdbusError(gdbusCall(path, kTryAcquire, {"4"}), "InvalidArgument", "try above max");
	expectGdbusError(gdbusCall(path, kRelease, {"0"}), "InvalidArgument", "release 0");
	auto tried = gdbusCall(path, kTryAcquire, {"1"});
	expectGdbusSuccess(tried, "try");
	EXPECT_EQ(tried.out, "(false,)\n");

	expectGdbusSuccess(gdbusCall(path, kRelease, {"3"}), "release up to max");
	auto past = gdbusCall(path, kRelease, {"1"});
	expectGdbusError(past, "LimitExceeded", "release past max");
	EXPECT_EQ(semaphore->value().value(), 3u);
	EXPECT_EQ(semaphore->waiters().value(), 0u);
}

TEST_F(ManagerErrorsTest, ValuePast32BitsIsLimitExceeded)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("full", 4294967295u);
	ASSERT_TRUE(semaphore);
	expectGdbusError(gdbusCall(semaphore->path(), kRelease, {"1"}), "LimitExceeded",
			 "release past 2^32-1");
	expectGdbusError(gdbusCall(semaphore->path(), kRelease, {"4294967295"}), "LimitExceeded",
			 "release 2^32-1 onto 2^32-1");
	EXPECT_EQ(semaphore->value().value(), 4294967295u);
}

TEST_F(ManagerErrorsTest, RemoveCancelsARawWait)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 0);
	ASSERT_TRUE(semaphore);
	CommandResult waited;
	std::thread waiter([&] {
		waited = run({"gdbus", "call", "--session", "--timeout", "20", "--dest",
			      "io.github.ipchub1", "--object-path", semaphore->path(), "--method",
			      kAcquire, "1", "18446744073709551615"});
	});
	const bool queued = waitFor([&] { return semaphore->waiters().value_or(0) == 1; });
	EXPECT_TRUE(queued);
	auto removed = client.remove(semaphore->path());
	waiter.join();
	ASSERT_TRUE(queued);
	ASSERT_TRUE(removed) << removed.error().message;
	expectGdbusError(waited, "Cancelled", "a wait on a removed semaphore");
}

} // namespace
} // namespace ipchub::test
