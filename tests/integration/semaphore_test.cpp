#include "bus_fixture.hpp"

namespace ipchub::test {
namespace {

using SemaphoreTest = IpchubTest;

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

} // namespace
} // namespace ipchub::test
