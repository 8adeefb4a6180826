// SPDX-License-Identifier: LGPL-2.1-or-later
// Semaphores through libipchub and the real ipchubd: create, open, options, keys and
// paths, release and its limits, close and remove.

#include <regex>
#include <set>

#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SemaphoreTest = IpchubTest;

constexpr const char *kSemaphoreInterface = "io.github.ipchub1.Semaphore";

// Whether introspecting path shows the Semaphore interface.
bool introspectionShowsSemaphore(const std::string &path)
{
	auto result = run({"gdbus", "introspect", "--session", "--dest", "io.github.ipchub1",
			   "--object-path", path});
	return result.status == 0 && result.out.find(kSemaphoreInterface) != std::string::npos;
}

TEST_F(SemaphoreTest, CreateAcquireRelease)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 2);
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	EXPECT_EQ(semaphore->path(), "/io/github/ipchub1/semaphore/jobs");
	ASSERT_TRUE(semaphore->acquire(2, 0us));
	EXPECT_EQ(semaphore->value().value(), 0u);
	auto again = semaphore->acquire(1, 0us);
	ASSERT_FALSE(again);
	EXPECT_EQ(again.error().code, ErrorCode::WouldBlock);
	ASSERT_TRUE(semaphore->release(2));
	EXPECT_EQ(semaphore->value().value(), 2u);
}

TEST_F(SemaphoreTest, KilledHolderGivesUnitsBack)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3);
	ASSERT_TRUE(semaphore);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child holder = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("jobs");
		if (!sem || !sem->acquire(2, 1s))
			return 1;
		char c = 'x';
		(void)!write(ready[1], &c, 1);
		pause();
		return 0;
	});
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_EQ(semaphore->value().value(), 1u);
	holder.kill(SIGKILL);
	EXPECT_TRUE(waitFor([&] { return semaphore->value().value_or(0) == 3; }));
}

TEST_F(SemaphoreTest, CreatingAnExistingKeyIsAlreadyExists)
{
	auto first = connect();
	auto second = connect();
	auto semaphore = first.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	for (Client *client : {&first, &second}) {
		auto again = client->createSemaphore("jobs", 1);
		ASSERT_FALSE(again);
		EXPECT_EQ(again.error().code, ErrorCode::AlreadyExists) << again.error().message;
	}
}

TEST_F(SemaphoreTest, OpenExistingReturnsTheExistingSemaphoreUnchanged)
{
	auto first = connect();
	auto second = connect();
	auto created = first.createSemaphore("jobs", 2, {.max = 5});
	ASSERT_TRUE(created);
	// initial and max of a second create do not touch the existing semaphore.
	auto opened = second.createSemaphore("jobs", 4, {.openExisting = true, .max = 9});
	ASSERT_TRUE(opened) << opened.error().message;
	EXPECT_EQ(opened->path(), created->path());
	EXPECT_EQ(opened->value().value(), 2u);
	RawConnection raw(address());
	EXPECT_EQ(raw.property(created->path(), kSemaphoreInterface, "Max").get<uint32_t>(), 5u);

	// open_existing took a reference: the creator's Close does not end it.
	ASSERT_TRUE(created->close());
	EXPECT_TRUE(connect().openSemaphore("jobs"));
	EXPECT_EQ(opened->value().value(), 2u);

	// Without anything to open, open_existing creates.
	auto fresh = second.createSemaphore("fresh", 3, {.openExisting = true});
	ASSERT_TRUE(fresh) << fresh.error().message;
	EXPECT_EQ(fresh->value().value(), 3u);
}

TEST_F(SemaphoreTest, OpenSharesTheSemaphoreAndAbsentIsNotFound)
{
	auto first = connect();
	auto second = connect();
	auto missing = second.openSemaphore("jobs");
	ASSERT_FALSE(missing);
	EXPECT_EQ(missing.error().code, ErrorCode::NotFound) << missing.error().message;

	auto created = first.createSemaphore("jobs", 3);
	ASSERT_TRUE(created);
	auto opened = second.openSemaphore("jobs");
	ASSERT_TRUE(opened) << opened.error().message;
	EXPECT_EQ(opened->path(), created->path());
	ASSERT_TRUE(opened->acquire(2, 0us));
	EXPECT_EQ(created->value().value(), 1u);
}

TEST_F(SemaphoreTest, ReleasePastMaxIsLimitExceeded)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1, {.max = 3});
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	ASSERT_TRUE(semaphore->release(2));
	EXPECT_EQ(semaphore->value().value(), 3u);
	auto past = semaphore->release(1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded) << past.error().message;
	EXPECT_EQ(semaphore->value().value(), 3u);
}

TEST_F(SemaphoreTest, ValuePast32BitsIsLimitExceededNotAWrap)
{
	auto client = connect();
	auto full = client.createSemaphore("full", 4294967295u);
	ASSERT_TRUE(full) << full.error().message;
	auto past = full->release(1);
	ASSERT_FALSE(past);
	EXPECT_EQ(past.error().code, ErrorCode::LimitExceeded) << past.error().message;
	EXPECT_EQ(full->value().value(), 4294967295u);

	auto almost = client.createSemaphore("almost", 4294967294u);
	ASSERT_TRUE(almost);
	auto wrap = almost->release(4294967295u);
	ASSERT_FALSE(wrap);
	EXPECT_EQ(wrap.error().code, ErrorCode::LimitExceeded);
	EXPECT_EQ(almost->value().value(), 4294967294u);
	ASSERT_TRUE(almost->release(1));
	EXPECT_EQ(almost->value().value(), 4294967295u);
}

TEST_F(SemaphoreTest, ReleaseBeyondWhatIsHeldIsAPost)
{
	auto producer = connect();
	auto consumer = connect();
	auto semaphore = producer.createSemaphore("queue", 0);
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(semaphore->release(3));
	EXPECT_EQ(semaphore->value().value(), 3u);
	EXPECT_TRUE(semaphore->holders().value().empty());
	auto opened = consumer.openSemaphore("queue");
	ASSERT_TRUE(opened);
	EXPECT_TRUE(opened->acquire(3, 0us));
}

TEST_F(SemaphoreTest, InvalidCountsAndInitialAboveMaxAreInvalidArgument)
{
	auto client = connect();
	auto above = client.createSemaphore("jobs", 4, {.max = 3});
	ASSERT_FALSE(above);
	EXPECT_EQ(above.error().code, ErrorCode::InvalidArgument) << above.error().message;

	auto semaphore = client.createSemaphore("jobs", 2, {.max = 3});
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	auto expectInvalid = [](auto result, const char *what) {
		ASSERT_FALSE(result) << what;
		EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument)
			<< what << ": " << result.error().message;
	};
	expectInvalid(semaphore->acquire(0, 0us), "acquire 0, try once");
	expectInvalid(semaphore->acquire(0, 100ms), "acquire 0, 100 ms");
	expectInvalid(semaphore->acquire(4, 100ms), "acquire above max");
	expectInvalid(semaphore->tryAcquire(0), "tryAcquire 0");
	expectInvalid(semaphore->tryAcquire(4), "tryAcquire above max");
	expectInvalid(semaphore->release(0), "release 0");
	EXPECT_EQ(semaphore->value().value(), 2u);
	EXPECT_EQ(semaphore->waiters().value(), 0u);
}

TEST_F(SemaphoreTest, KeyLengthIsOneTo255Bytes)
{
	auto client = connect();
	for (const std::string &key : {std::string(), std::string(256, 'k'),
				       // 86 three-byte characters: 258 bytes.
				       [] {
					       std::string text;
					       for (int i = 0; i < 86; ++i)
						       text += "\u65e5";
					       return text;
				       }()}) {
		auto created = client.createSemaphore(key, 1);
		ASSERT_FALSE(created) << key.size() << " bytes";
		EXPECT_EQ(created.error().code, ErrorCode::InvalidKey) << created.error().message;
		auto opened = client.openSemaphore(key);
		ASSERT_FALSE(opened);
		EXPECT_EQ(opened.error().code, ErrorCode::InvalidKey) << opened.error().message;
	}
	std::string wide;
	for (int i = 0; i < 85; ++i)
		wide += "\u65e5";
	ASSERT_EQ(wide.size(), 255u);
	for (const std::string &key : {std::string(255, 'k'), wide, std::string("k")}) {
		auto created = client.createSemaphore(key, 1);
		ASSERT_TRUE(created) << key.size() << " bytes: " << created.error().message;
		RawConnection raw(address());
		EXPECT_EQ(raw.property(created->path(), kSemaphoreInterface, "Key")
				  .get<std::string>(),
			  key);
		EXPECT_TRUE(connect().openSemaphore(key));
	}
}

TEST_F(SemaphoreTest, AnyKeyMapsToAValidDistinctPath)
{
	const std::vector<std::pair<std::string, std::string>> expected{
		{"a/b", "a_2fb"},     {"a b", "a_20b"}, {"a_2fb", "a_5f2fb"},
		{"\u00e9", "_c3_a9"}, {"1x", "_31x"},	{"a.b-c", "a_2eb_2dc"},
		{"/", "_2f"},	      {"_", "_5f"},	{"\u65e5\u672c", "_e6_97_a5_e6_9c_ac"},
	};
	auto client = connect();
	RawConnection raw(address());
	const std::regex validPath("^(/[A-Za-z0-9_]+)+$");
	std::vector<Semaphore> semaphores;
	std::set<std::string> paths;
	for (const auto &[key, label] : expected) {
		auto created = client.createSemaphore(key, 1);
		ASSERT_TRUE(created) << "key \"" << key << "\": " << created.error().message;
		EXPECT_EQ(created->path(), "/io/github/ipchub1/semaphore/" + label) << key;
		EXPECT_TRUE(std::regex_match(created->path(), validPath)) << created->path();
		EXPECT_EQ(raw.property(created->path(), kSemaphoreInterface, "Key")
				  .get<std::string>(),
			  key);
		paths.insert(created->path());
		semaphores.push_back(std::move(*created));
	}
	EXPECT_EQ(paths.size(), expected.size());
	// Each key reaches its own semaphore.
	ASSERT_TRUE(semaphores[0].acquire(1, 0us));
	for (size_t i = 1; i < semaphores.size(); ++i)
		EXPECT_EQ(semaphores[i].value().value(), 1u) << expected[i].first;
}

TEST_F(SemaphoreTest, ScopeOptionOfAHostCallerCreatesInThatScope)
{
	auto client = connect();
	auto scoped = client.createSemaphore("jobs", 2, {.scope = "org.example.App"});
	ASSERT_TRUE(scoped) << scoped.error().message;
	EXPECT_EQ(scoped->path(), "/io/github/ipchub1/semaphore/org_2eexample_2eApp/jobs");
	RawConnection raw(address());
	EXPECT_EQ(raw.property(scoped->path(), kSemaphoreInterface, "Scope").get<std::string>(),
		  "org.example.App");
	EXPECT_EQ(raw.property(scoped->path(), kSemaphoreInterface, "Key").get<std::string>(),
		  "jobs");

	// The host scope's "jobs" is another semaphore.
	auto other = connect();
	auto hostMissing = other.openSemaphore("jobs");
	ASSERT_FALSE(hostMissing);
	EXPECT_EQ(hostMissing.error().code, ErrorCode::NotFound);
	auto opened = other.openSemaphore("jobs", {.scope = "org.example.App"});
	ASSERT_TRUE(opened) << opened.error().message;
	EXPECT_EQ(opened->path(), scoped->path());
	auto host = other.createSemaphore("jobs", 5);
	ASSERT_TRUE(host) << host.error().message;
	EXPECT_EQ(host->path(), "/io/github/ipchub1/semaphore/jobs");
	EXPECT_EQ(raw.property(host->path(), kSemaphoreInterface, "Scope").get<std::string>(), "");
	EXPECT_EQ(opened->value().value(), 2u);
}

TEST_F(SemaphoreTest, AllowedAppsAreAccepted)
{
	auto client = connect();
	auto semaphore =
		client.createSemaphore("shared", 1,
				       {.allowedApps = {"org.example.One", "org.example.Two"}});
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	EXPECT_EQ(semaphore->value().value(), 1u);
}

TEST_F(SemaphoreTest, ReturnOnExitFalseIsAPlainCounter)
{
	auto client = connect();
	auto counter = client.createSemaphore("counter", 3, {.returnOnExit = false});
	ASSERT_TRUE(counter) << counter.error().message;
	// A consumer takes two units and closes cleanly; another takes one and is killed.
	Child consumer = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("counter");
		if (!sem || !sem->acquire(2, 0us))
			return 1;
		return sem->close() ? 0 : 2;
	});
	EXPECT_EQ(consumer.wait(), 0);
	EXPECT_EQ(counter->value().value(), 1u);
	EXPECT_TRUE(counter->holders().value().empty());

	// The killed consumer also created "marker": once that is gone, ipchubd has dealt
	// with the consumer leaving the bus.
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	Child killed = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("counter");
		auto marker = child->createSemaphore("marker", 1);
		if (!sem || !marker || !sem->acquire(1, 0us))
			return 1;
		char c = 'x';
		(void)!write(ready[1], &c, 1);
		pause();
		return 0;
	});
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	EXPECT_EQ(counter->value().value(), 0u);
	killed.kill(SIGKILL);
	EXPECT_TRUE(waitFor([&] {
		return !introspectionShowsSemaphore("/io/github/ipchub1/semaphore/marker");
	}));
	EXPECT_EQ(counter->value().value(), 0u);
	// A producer's post refills it.
	ASSERT_TRUE(counter->release(3));
	EXPECT_EQ(counter->value().value(), 3u);
}

TEST_F(SemaphoreTest, ReturnOnExitTrueGivesBackOnClose)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 3);
	ASSERT_TRUE(semaphore);
	Child consumer = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("jobs");
		if (!sem || !sem->acquire(2, 0us))
			return 1;
		return sem->close() ? 0 : 2;
	});
	EXPECT_EQ(consumer.wait(), 0);
	EXPECT_EQ(semaphore->value().value(), 3u);
}

TEST_F(SemaphoreTest, PersistentOutlivesItsReferencesUntilRemove)
{
	auto creator = connect();
	auto semaphore = creator.createSemaphore("kept", 2, {.persistent = true});
	ASSERT_TRUE(semaphore) << semaphore.error().message;
	const std::string path = semaphore->path();
	ASSERT_TRUE(semaphore->close());
	{
		auto client = connect();
		auto opened = client.openSemaphore("kept");
		ASSERT_TRUE(opened) << opened.error().message;
		EXPECT_EQ(opened->value().value(), 2u);
	}
	// That client's connection is gone too; still there.
	auto other = connect();
	auto opened = other.openSemaphore("kept");
	ASSERT_TRUE(opened) << opened.error().message;
	ASSERT_TRUE(opened->close());
	EXPECT_TRUE(introspectionShowsSemaphore(path));

	ASSERT_TRUE(other.remove(path));
	auto gone = other.openSemaphore("kept");
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
	EXPECT_FALSE(introspectionShowsSemaphore(path));
	// And the key is free again.
	EXPECT_TRUE(other.createSemaphore("kept", 1));
}

TEST_F(SemaphoreTest, RemoveCancelsWaitersAndEndsTheObject)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("kept", 1, {.persistent = true});
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(semaphore->acquire(1, 0us));
	Child waiter = forkChild([&] {
		auto child = Client::connect(address());
		auto sem = child->openSemaphore("kept");
		if (!sem)
			return 1;
		auto acquired = sem->acquire(1, kForever);
		return acquired ? 2 : acquired.error().code == ErrorCode::Cancelled ? 0 : 3;
	});
	RawConnection raw(address());
	auto rawWait = raw.acquireAsync(semaphore->path(), 1, 10'000'000);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(semaphore->path()) == 2; }));

	auto other = connect();
	ASSERT_TRUE(other.remove(semaphore->path()));
	EXPECT_EQ(waiter.wait(), 0) << "the library's wait did not end with Cancelled";
	ASSERT_TRUE(raw.waitFor([&] { return rawWait->done; }));
	EXPECT_EQ(rawWait->error, errorName("Cancelled")) << rawWait->message;
	auto gone = other.openSemaphore("kept");
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
	EXPECT_FALSE(introspectionShowsSemaphore(semaphore->path()));
}

TEST_F(SemaphoreTest, RemoveOfAPathThatIsNoObjectIsNotFound)
{
	auto client = connect();
	for (const char *path :
	     {"/io/github/ipchub1/semaphore/nothing", "/io/github/ipchub1", "/"}) {
		auto removed = client.remove(path);
		ASSERT_FALSE(removed) << path;
		EXPECT_EQ(removed.error().code, ErrorCode::NotFound) << removed.error().message;
	}
	auto semaphore = client.createSemaphore("once", 1, {.persistent = true});
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(client.remove(semaphore->path()));
	auto twice = client.remove(semaphore->path());
	ASSERT_FALSE(twice);
	EXPECT_EQ(twice.error().code, ErrorCode::NotFound);
}

TEST_F(SemaphoreTest, RemoveEndsANonPersistentSemaphoreToo)
{
	auto client = connect();
	auto semaphore = client.createSemaphore("jobs", 1);
	ASSERT_TRUE(semaphore);
	ASSERT_TRUE(connect().remove(semaphore->path()));
	auto gone = client.openSemaphore("jobs");
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
}

TEST_F(SemaphoreTest, CloseReturnsUnitsAndTheLastCloseEndsTheObject)
{
	auto first = connect();
	auto second = connect();
	auto created = first.createSemaphore("jobs", 3);
	ASSERT_TRUE(created);
	const std::string path = created->path();
	auto opened = second.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(opened->acquire(2, 0us));
	EXPECT_EQ(created->value().value(), 1u);
	ASSERT_TRUE(opened->close());
	EXPECT_EQ(created->value().value(), 3u);
	EXPECT_TRUE(introspectionShowsSemaphore(path));
	// A closed handle is unusable.
	EXPECT_FALSE(opened->value());

	ASSERT_TRUE(created->close());
	auto gone = second.openSemaphore("jobs");
	ASSERT_FALSE(gone);
	EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
	EXPECT_FALSE(introspectionShowsSemaphore(path));
}

TEST_F(SemaphoreTest, CloseCancelsTheCallersOwnQueuedWait)
{
	RawConnection raw(address());
	const std::string path = raw.createSemaphore("jobs", 1);
	auto other = connect();
	auto opened = other.openSemaphore("jobs");
	ASSERT_TRUE(opened);
	ASSERT_TRUE(opened->acquire(1, 0us));

	auto wait = raw.acquireAsync(path, 1, UINT64_MAX);
	ASSERT_TRUE(raw.waitFor([&] { return raw.waiters(path) == 1; }));
	raw.callSemaphore(path, "Close");
	ASSERT_TRUE(raw.waitFor([&] { return wait->done; }));
	EXPECT_EQ(wait->error, errorName("Cancelled")) << wait->message;
	EXPECT_EQ(opened->waiters().value(), 0u);
	// The other reference keeps it; its release finds nobody waiting.
	ASSERT_TRUE(opened->release(1));
	EXPECT_EQ(opened->value().value(), 1u);
}

} // namespace
} // namespace ipchub::test
