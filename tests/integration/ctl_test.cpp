// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl, the built binary, against the real ipchubd: every verb, its errors
// (one line on stderr, status 1), flock(1)-like locks, semaphore-limited runs,
// binary shared-memory round trips, watch and --scope.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ctlPath()
{
	const char *path = std::getenv("IPCHUBCTL");
	return path ? path : "ipchubctl";
}

std::string readFile(const std::filesystem::path &path)
{
	std::ifstream in(path, std::ios::binary);
	std::ostringstream text;
	text << in.rdbuf();
	return text.str();
}

void writeFile(const std::filesystem::path &path, const std::string &bytes)
{
	std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<std::string> lines(const std::string &text)
{
	std::vector<std::string> result;
	std::istringstream in(text);
	for (std::string line; std::getline(in, line);)
		result.push_back(line);
	return result;
}

class CtlTest : public IpchubTest
{
protected:
	void SetUp() override
	{
		IpchubTest::SetUp();
		setenv("IPCHUBCTL", ctlPath().c_str(), 1);
		char dir[] = "/tmp/ipchubctl-test-XXXXXX";
		ASSERT_NE(mkdtemp(dir), nullptr);
		dir_ = dir;
	}
	void TearDown() override
	{
		std::filesystem::remove_all(dir_);
		IpchubTest::TearDown();
	}

	CommandResult ctl(std::vector<std::string> args)
	{
		args.insert(args.begin(), ctlPath());
		return run(args);
	}
	// A shell script with $IPCHUBCTL and $DIR (the test's scratch directory) set.
	CommandResult sh(const std::string &script)
	{
		return run({"sh", "-c", "export DIR=" + dir_.string() + "; " + script});
	}
	Child spawnSh(const std::string &script)
	{
		return spawn({"sh", "-c", "export DIR=" + dir_.string() + "; " + script});
	}
	// The status of the object as NAME=VALUE lines, or "" when it fails.
	std::string status(const std::string &kind, const std::string &key,
			   std::vector<std::string> extra = {})
	{
		std::vector<std::string> args{"status", kind, key};
		args.insert(args.end(), extra.begin(), extra.end());
		auto result = ctl(args);
		return result.status == 0 ? result.out : "";
	}

	std::filesystem::path dir_;
};

// An error is one line "ipchubctl: ..." on stderr, nothing on stdout, status 1.
void expectError(const CommandResult &result, const std::string &fragment)
{
	EXPECT_EQ(result.status, 1) << result.err;
	EXPECT_EQ(result.out, "");
	EXPECT_THAT(result.err, StartsWith("ipchubctl: "));
	EXPECT_THAT(result.err, HasSubstr(fragment));
	EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
	EXPECT_TRUE(result.err.ends_with("\n"));
}

TEST_F(CtlTest, HelpForTheToolAndEveryVerb)
{
	auto help = ctl({"--help"});
	EXPECT_EQ(help.status, 0);
	for (const char *verb : {"list", "status", "sem create", "sem run", "sem post",
				 "shm create", "shm write", "shm read", "lock", "watch"}) {
		EXPECT_THAT(help.out, HasSubstr(std::string("ipchubctl ") + verb + " "));
		std::vector<std::string> args;
		std::istringstream words(verb);
		for (std::string word; words >> word;)
			args.push_back(word);
		args.push_back("--help");
		auto verbHelp = ctl(args);
		EXPECT_EQ(verbHelp.status, 0) << verb;
		EXPECT_THAT(verbHelp.out, StartsWith(std::string("Usage: ipchubctl ") + verb));
		EXPECT_THAT(verbHelp.out, HasSubstr("--scope APP_ID"));
	}
	EXPECT_EQ(ctl({"sem", "--help"}).status, 0);
	expectError(ctl({}), "no verb");
	expectError(ctl({"frobnicate"}), "unknown verb \"frobnicate\"");
	expectError(ctl({"sem", "destroy", "x"}), "unknown verb \"sem destroy\"");
	expectError(ctl({"sem"}), "sem needs a verb");
}

TEST_F(CtlTest, SemaphoreCreateStatusListPostRemove)
{
	auto created = ctl({"sem", "create", "jobs", "--initial", "3", "--max=5"});
	EXPECT_EQ(created.status, 0) << created.err;
	EXPECT_EQ(created.out, "");
	// Persistent: it outlived the ipchubctl that made it.
	const std::string shown = status("semaphore", "jobs");
	EXPECT_THAT(shown, HasSubstr("Kind=semaphore\n"));
	EXPECT_THAT(shown, HasSubstr("Path=/io/github/ipchub1/semaphore/jobs\n"));
	EXPECT_THAT(shown, HasSubstr("Key=jobs\n"));
	EXPECT_THAT(shown, HasSubstr("Scope=\n"));
	EXPECT_THAT(shown, HasSubstr("Value=3\n"));
	EXPECT_THAT(shown, HasSubstr("Max=5\n"));
	EXPECT_THAT(shown, HasSubstr("Holders=\n"));

	EXPECT_EQ(ctl({"sem", "post", "jobs"}).status, 0);
	EXPECT_EQ(ctl({"sem", "post", "jobs", "1"}).status, 0);
	auto list = ctl({"list"});
	EXPECT_EQ(list.status, 0);
	EXPECT_EQ(list.out, "semaphore jobs - Value=5 Max=5 Waiters=0\n");
	expectError(ctl({"sem", "post", "jobs"}), "");

	EXPECT_EQ(ctl({"remove", "semaphore", "jobs"}).status, 0);
	EXPECT_EQ(ctl({"list"}).out, "");
	expectError(ctl({"status", "semaphore", "jobs"}), "semaphore \"jobs\" does not exist");
}

TEST_F(CtlTest, SemCreateNoReturnOnExitMakesAPlainCounter)
{
	ASSERT_EQ(ctl({"sem", "create", "counter", "--no-return-on-exit"}).status, 0);
	ASSERT_EQ(ctl({"sem", "create", "kept"}).status, 0);
	// A process takes a unit of each and closes them without releasing.
	auto client = connect();
	for (const char *key : {"counter", "kept"}) {
		auto semaphore = client.openSemaphore(key);
		ASSERT_TRUE(semaphore) << semaphore.error().message;
		ASSERT_TRUE(semaphore->acquire(1, 0us));
		ASSERT_TRUE(semaphore->close());
	}
	// The counter's unit was consumed; the default semaphore's came back.
	EXPECT_THAT(status("semaphore", "counter"), HasSubstr("Value=0\n"));
	EXPECT_THAT(status("semaphore", "kept"), HasSubstr("Value=1\n"));
}

TEST_F(CtlTest, ErrorsAreOneLineWithStatusOne)
{
	ASSERT_EQ(ctl({"sem", "create", "jobs"}).status, 0);
	expectError(ctl({"sem", "create", "jobs"}), "semaphore \"jobs\" already exists");
	expectError(ctl({"sem", "post", "missing"}), "semaphore \"missing\" does not exist");
	expectError(ctl({"sem", "run", "missing", "--", "true"}),
		    "semaphore \"missing\" does not exist");
	expectError(ctl({"shm", "read", "missing"}), "does not exist");
	expectError(ctl({"status", "lock", "missing"}), "lock \"missing\" does not exist");
	expectError(ctl({"status", "queue", "x"}), "unknown kind \"queue\"");
	expectError(ctl({"sem", "create", std::string(300, 'k')}), "300 bytes");
	expectError(ctl({"sem", "create", "x", "--initial", "many"}),
		    "--initial \"many\" is not a number");
	expectError(ctl({"sem", "create", "x", "--max", "99999999999"}), "too large");
	expectError(ctl({"sem", "create", "x", "--bogus"}), "unknown option --bogus");
	expectError(ctl({"sem", "create", "x", "--initial"}), "needs a value");
	expectError(ctl({"sem", "run", "jobs", "--timeout", "-1", "--", "true"}), "--timeout");
	expectError(ctl({"sem", "run", "jobs"}), "no command after --");
	expectError(ctl({"sem", "post", "jobs", "1", "2"}), "unexpected argument \"2\"");
	expectError(ctl({
			    "lock",
			    "L",
			    "--",
		    }),
		    "no command after --");
	expectError(ctl({"shm", "create", "seg", "12X"}), "SIZE \"12X\" is not a number");
	expectError(ctl({"shm", "create", "seg", "0"}), "");
	expectError(ctl({"list", "--", "true"}), "runs no command");
}

TEST_F(CtlTest, SemRunPassesTheStatusAndGivesTheUnitsBack)
{
	ASSERT_EQ(ctl({"sem", "create", "jobs", "--initial", "2"}).status, 0);
	EXPECT_EQ(ctl({"sem", "run", "jobs", "--", "sh", "-c", "exit 7"}).status, 7);
	EXPECT_EQ(ctl({"sem", "run", "jobs", "--count", "2", "--", "sh", "-c", "kill -TERM $$"})
			  .status,
		  128 + SIGTERM);
	auto missing = ctl({"sem", "run", "jobs", "--", "/nonexistent/command"});
	EXPECT_EQ(missing.status, 127);
	EXPECT_THAT(missing.err, HasSubstr("/nonexistent/command"));
	// The command's output is its own.
	auto echoed = ctl({"sem", "run", "jobs", "--", "echo", "--count", "3"});
	EXPECT_EQ(echoed.status, 0);
	EXPECT_EQ(echoed.out, "--count 3\n");
	EXPECT_THAT(status("semaphore", "jobs"), HasSubstr("Value=2\n"));
}

TEST_F(CtlTest, SemRunTimesOutWhenTheUnitsAreHeld)
{
	ASSERT_EQ(ctl({"sem", "create", "jobs", "--initial", "1"}).status, 0);
	auto client = connect();
	auto semaphore = client.openSemaphore("jobs");
	ASSERT_TRUE(semaphore && semaphore->acquire(1));
	expectError(ctl({"sem", "run", "jobs", "--timeout", "0", "--", "true"}), "");
	const auto start = std::chrono::steady_clock::now();
	expectError(ctl({"sem", "run", "jobs", "--timeout", "0.3", "--", "true"}), "");
	EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
	ASSERT_TRUE(semaphore->release(1));
	EXPECT_EQ(ctl({"sem", "run", "jobs", "--timeout", "5", "--", "true"}).status, 0);
}

// How many commands ran at once at most, from the "+" and "-" lines they appended.
int maxConcurrency(const std::string &log)
{
	int running = 0, most = 0;
	for (const auto &line : lines(log)) {
		running += line == "+" ? 1 : -1;
		most = std::max(most, running);
	}
	return most;
}

TEST_F(CtlTest, SemRunLimitsConcurrencyToTheUnits)
{
	ASSERT_EQ(ctl({"sem", "create", "jobs", "--initial", "2"}).status, 0);
	const std::string body = "echo + >> $DIR/log; sleep 0.5; echo - >> $DIR/log";
	auto result = sh("for i in 1 2 3 4 5; do \"$IPCHUBCTL\" sem run jobs -- sh -c '" + body +
			 "' & done; wait");
	ASSERT_EQ(result.status, 0) << result.err;
	const std::string log = readFile(dir_ / "log");
	EXPECT_EQ(lines(log).size(), 10u);
	EXPECT_EQ(maxConcurrency(log), 2) << log;

	// Two units each: one at a time.
	std::filesystem::remove(dir_ / "log");
	result = sh("for i in 1 2 3; do \"$IPCHUBCTL\" sem run jobs --count 2 -- sh -c '" + body +
		    "' & done; wait");
	ASSERT_EQ(result.status, 0) << result.err;
	EXPECT_EQ(lines(readFile(dir_ / "log")).size(), 6u);
	EXPECT_EQ(maxConcurrency(readFile(dir_ / "log")), 1);
	EXPECT_THAT(status("semaphore", "jobs"), HasSubstr("Value=2\n"));
}

TEST_F(CtlTest, LockRunsHoldersStrictlyOneAfterAnother)
{
	const std::string body = "echo start $$ >> $DIR/log; sleep 0.2; echo end $$ >> $DIR/log";
	auto result = sh("for i in 1 2 3 4; do \"$IPCHUBCTL\" lock db -- sh -c '" + body +
			 "' & done; wait");
	ASSERT_EQ(result.status, 0) << result.err;
	const auto log = lines(readFile(dir_ / "log"));
	ASSERT_EQ(log.size(), 8u);
	for (size_t i = 0; i < log.size(); i += 2) {
		ASSERT_THAT(log[i], StartsWith("start "));
		EXPECT_EQ(log[i + 1], "end " + log[i].substr(6)) << "interleaved at line " << i;
	}
	// Nobody uses the lock any more, so it went.
	EXPECT_EQ(ctl({"list"}).out, "");
}

TEST_F(CtlTest, LockPassesTheCommandsStatus)
{
	EXPECT_EQ(ctl({"lock", "db", "--", "true"}).status, 0);
	EXPECT_EQ(ctl({"lock", "db", "--", "sh", "-c", "exit 3"}).status, 3);
	EXPECT_EQ(ctl({"lock", "db", "--", "sh", "-c", "kill -KILL $$"}).status, 128 + SIGKILL);
	EXPECT_EQ(ctl({"lock", "db", "--", "/nonexistent/command"}).status, 127);
	auto held = ctl({"lock", "db", "--", "sh", "-c", "\"$IPCHUBCTL\" status lock db"});
	EXPECT_EQ(held.status, 0);
	EXPECT_THAT(held.out, HasSubstr("Mode=exclusive\n"));
}

TEST_F(CtlTest, LockSharedAndTimeout)
{
	auto client = connect();
	auto lock = client.createLock("db");
	ASSERT_TRUE(lock);
	{
		auto shared = lock->acquire(LockMode::Shared);
		ASSERT_TRUE(shared);
		auto reader = ctl({"lock", "db", "--shared", "--timeout", "5", "--", "sh", "-c",
				   "\"$IPCHUBCTL\" status lock db"});
		EXPECT_EQ(reader.status, 0) << reader.err;
		EXPECT_THAT(reader.out, HasSubstr("Mode=shared\n"));
		expectError(ctl({"lock", "db", "--timeout", "0", "--", "true"}), "");
	}
	auto exclusive = lock->acquire(LockMode::Exclusive);
	ASSERT_TRUE(exclusive);
	expectError(ctl({"lock", "db", "--shared", "--timeout", "0.2", "--", "true"}), "");
}

TEST_F(CtlTest, LockIsReleasedWhenIpchubctlIsKilled)
{
	auto holder =
		spawnSh("exec \"$IPCHUBCTL\" lock db -- sh -c 'echo $$ > $DIR/pid; exec sleep 60'");
	ASSERT_TRUE(waitFor([&] { return !readFile(dir_ / "pid").empty(); }));
	const pid_t sleeper = std::stoi(readFile(dir_ / "pid"));
	holder.kill(SIGKILL);
	auto client = connect();
	auto lock = client.createLock("db", {.openExisting = true});
	ASSERT_TRUE(lock);
	EXPECT_TRUE(lock->acquire(LockMode::Exclusive, 5s));
	kill(sleeper, SIGKILL);
}

TEST_F(CtlTest, LockPassesSigtermOnAndReleasesAfterTheCommand)
{
	auto holder =
		spawnSh("exec \"$IPCHUBCTL\" lock db -- sh -c 'echo $$ > $DIR/pid; exec sleep 60'");
	ASSERT_TRUE(waitFor([&] { return !readFile(dir_ / "pid").empty(); }));
	holder.kill(SIGTERM);
	EXPECT_EQ(holder.wait(), 128 + SIGTERM);
	EXPECT_EQ(ctl({"list"}).out, "");
}

TEST_F(CtlTest, SharedMemoryRoundTripsBinaryBytes)
{
	ASSERT_EQ(ctl({"shm", "create", "frame", "1K"}).status, 0);
	EXPECT_THAT(status("shm", "frame"), HasSubstr("Size=1024\n"));
	std::string bytes;
	for (int i = 0; i < 300; ++i)
		bytes.push_back(static_cast<char>(i % 256));
	bytes += std::string(5, '\0') + "end";
	writeFile(dir_ / "in", bytes);
	auto written = sh("\"$IPCHUBCTL\" shm write frame < $DIR/in");
	ASSERT_EQ(written.status, 0) << written.err;

	auto read = ctl({"shm", "read", "frame"});
	ASSERT_EQ(read.status, 0) << read.err;
	ASSERT_EQ(read.out.size(), 1024u);
	EXPECT_EQ(read.out.substr(0, bytes.size()), bytes);
	EXPECT_EQ(read.out.substr(bytes.size()), std::string(1024 - bytes.size(), '\0'));

	// A shorter write zeroes what the longer one left.
	auto shorter = sh("printf abc | \"$IPCHUBCTL\" shm write frame");
	ASSERT_EQ(shorter.status, 0);
	EXPECT_EQ(ctl({"shm", "read", "frame"}).out, "abc" + std::string(1021, '\0'));
}

TEST_F(CtlTest, ShmWriteRefusesInputLargerThanTheObject)
{
	ASSERT_EQ(ctl({"shm", "create", "frame", "16"}).status, 0);
	ASSERT_EQ(sh("printf 0123456789abcdef | \"$IPCHUBCTL\" shm write frame").status, 0);
	writeFile(dir_ / "big", std::string(17, 'x'));
	expectError(sh("\"$IPCHUBCTL\" shm write frame < $DIR/big"),
		    "standard input is larger than shared memory \"frame\" (16 bytes)");
	EXPECT_EQ(ctl({"shm", "read", "frame"}).out, "0123456789abcdef");
	ASSERT_EQ(ctl({"shm", "create", "big", "2M"}).status, 0);
	EXPECT_THAT(status("shm", "big"), HasSubstr("Size=2097152\n"));
	expectError(ctl({"shm", "create", "big", "1G", "--persistent"}), "");
}

TEST_F(CtlTest, WatchPrintsChangesOfAnotherClient)
{
	auto watcher = spawnSh("exec \"$IPCHUBCTL\" watch > $DIR/watch");
	// Subscribed once a probe shows up: then nothing later can be missed.
	auto client = connect();
	int probes = 0;
	ASSERT_TRUE(waitFor([&] {
		(void)client.createSemaphore("probe" + std::to_string(probes++), 0);
		return readFile(dir_ / "watch").find("added semaphore probe") != std::string::npos;
	}));

	ASSERT_EQ(ctl({"sem", "create", "watched", "--initial", "2"}).status, 0);
	ASSERT_EQ(ctl({"sem", "post", "watched"}).status, 0);
	ASSERT_EQ(ctl({"remove", "semaphore", "watched"}).status, 0);
	ASSERT_TRUE(waitFor([&] {
		return readFile(dir_ / "watch").find("removed semaphore watched -\n") !=
		       std::string::npos;
	})) << readFile(dir_ / "watch");
	const std::string log = readFile(dir_ / "watch");
	EXPECT_THAT(
		log,
		HasSubstr(
			"added semaphore watched - Fast=false Holders= Key=watched Max=4294967295 "
			"ReturnOnExit=true Scope= Value=2 Waiters=0\n"));
	EXPECT_THAT(log, HasSubstr("changed semaphore watched - Holders= Value=3 Waiters=0\n"));
	EXPECT_LT(log.find("added semaphore watched"), log.find("changed semaphore watched"));

	watcher.kill(SIGTERM);
	EXPECT_EQ(watcher.wait(), 0);
}

TEST_F(CtlTest, WatchEndsCleanlyOnSigint)
{
	auto watcher = spawnSh("exec \"$IPCHUBCTL\" watch --scope org.example.App > $DIR/watch");
	auto client = connect();
	int probes = 0;
	ASSERT_TRUE(waitFor([&] {
		(void)client.createSemaphore("probe" + std::to_string(probes++), 0,
					     {.scope = "org.example.App"});
		return !readFile(dir_ / "watch").empty();
	}));
	// Only the scope asked for.
	ASSERT_EQ(ctl({"lock", "host", "--", "true"}).status, 0);
	ASSERT_EQ(ctl({"lock", "app", "--scope", "org.example.App", "--", "true"}).status, 0);
	ASSERT_TRUE(waitFor([&] {
		return readFile(dir_ / "watch").find("removed lock app org.example.App\n") !=
		       std::string::npos;
	}));
	EXPECT_EQ(readFile(dir_ / "watch").find("lock host"), std::string::npos);
	watcher.kill(SIGINT);
	EXPECT_EQ(watcher.wait(), 0);
}

TEST_F(CtlTest, ScopeReachesAnotherScope)
{
	const std::vector<std::string> app{"--scope", "org.example.App"};
	auto created =
		ctl({"sem", "create", "jobs", "--initial", "0", "--scope", "org.example.App"});
	ASSERT_EQ(created.status, 0) << created.err;
	expectError(ctl({"status", "semaphore", "jobs"}), "does not exist");
	EXPECT_THAT(status("semaphore", "jobs", app), HasSubstr("Scope=org.example.App\n"));
	EXPECT_EQ(ctl({"sem", "post", "jobs", "--scope=org.example.App"}).status, 0);
	EXPECT_EQ(ctl({"sem", "run", "jobs", "--scope", "org.example.App", "--timeout", "5", "--",
		       "true"})
			  .status,
		  0);
	ASSERT_EQ(ctl({"shm", "create", "seg", "8", "--scope", "org.example.App"}).status, 0);
	ASSERT_EQ(sh("printf hi | \"$IPCHUBCTL\" shm write seg --scope org.example.App").status, 0);
	EXPECT_EQ(ctl({"shm", "read", "seg", "--scope", "org.example.App"}).out,
		  std::string("hi") + std::string(6, '\0'));
	EXPECT_EQ(ctl({"list"}).out,
		  "semaphore jobs org.example.App Value=1 Max=4294967295 Waiters=0\n"
		  "shm seg org.example.App Size=8 Attachments=0 Sealed=false\n");
	EXPECT_EQ(ctl({"list", "--scope", ""}).out, "");
	EXPECT_EQ(ctl({"remove", "shm", "seg", "--scope", "org.example.App"}).status, 0);
}

TEST_F(CtlTest, KeysThatAreNotPlainWordsAreQuoted)
{
	ASSERT_EQ(ctl({"sem", "create", "a b\n\"c\""}).status, 0);
	EXPECT_EQ(ctl({"list"}).out,
		  "semaphore \"a b\\n\\\"c\\\"\" - Value=1 Max=4294967295 Waiters=0\n");
	EXPECT_THAT(status("semaphore", "a b\n\"c\""), HasSubstr("Key=\"a b\\n\\\"c\\\"\"\n"));
}

// The ```sh blocks of a Markdown file, or of its "## " section whose heading is
// `section` when that is not empty.
std::vector<std::string> shellBlocks(const std::string &markdown, const std::string &section)
{
	std::vector<std::string> blocks;
	std::string *block = nullptr;
	bool inSection = section.empty();
	for (const auto &line : lines(markdown)) {
		if (!block && !section.empty() && line.starts_with("## "))
			inSection = line == section;
		if (!inSection)
			continue;
		if (!block && line == "```sh")
			block = &blocks.emplace_back();
		else if (block && line == "```")
			block = nullptr;
		else if (block)
			*block += line + "\n";
	}
	return blocks;
}

// Every shell block of docs/ipchubctl.md (IPCHUB_SHELL_DOC), and the one of the
// README's "## From the shell" (IPCHUB_README), runs as it is shown.
TEST_F(CtlTest, ShellExamplesOfTheDocsRun)
{
	struct Doc {
		const char *variable;
		std::string section;
		size_t blocks;
	};
	const std::string path = std::filesystem::path(ctlPath()).parent_path().string();
	for (const Doc &doc :
	     {Doc{"IPCHUB_SHELL_DOC", "", 4}, Doc{"IPCHUB_README", "## From the shell", 1}}) {
		const char *file = std::getenv(doc.variable);
		ASSERT_NE(file, nullptr) << doc.variable << " names the Markdown file";
		const auto blocks = shellBlocks(readFile(file), doc.section);
		ASSERT_EQ(blocks.size(), doc.blocks) << file;
		for (const auto &block : blocks) {
			auto result = sh("cd \"$DIR\"; PATH=" + path + ":$PATH; set -eu\n" + block);
			EXPECT_EQ(result.status, 0) << file << ":\n"
						    << block << "\nstdout:\n"
						    << result.out << "stderr:\n"
						    << result.err;
			EXPECT_EQ(result.err, "") << file << ":\n" << block;
		}
	}
}

} // namespace
} // namespace ipchub::test
