// What each connection uses of its limits, with no bus: core/quota.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/quota.hpp"
#include "core/shared_memory.hpp"

namespace ipchub::core {
namespace {

bool mentions(const Error &error, const std::string &text)
{
	return error.message.find(text) != std::string::npos;
}

TEST(QuotaTest, ARefusalOfAConnectionThatHadNothingNamesWhatItHad)
{
	Limits limits;
	limits.bytesPerConnection = 4096;
	Quota quota(limits);
	// The client's usage is made for the check and dropped again before the
	// message is written.
	auto bytes = quota.takeBytes(":1.7", 8192);
	ASSERT_FALSE(bytes);
	EXPECT_EQ(bytes.error().code, ErrorCode::LimitExceeded);
	EXPECT_TRUE(mentions(bytes.error(), "already has 0 bytes")) << bytes.error().message;
	EXPECT_TRUE(mentions(bytes.error(), "bytes_per_connection 4096")) << bytes.error().message;
	EXPECT_FALSE(quota.inUse(":1.7"));

	limits.objectsPerConnection = 0;
	limits.waitsPerConnection = 0;
	Quota none(limits);
	auto object = none.takeObject(":1.7");
	ASSERT_FALSE(object);
	EXPECT_TRUE(mentions(object.error(), "already references 0 objects"))
		<< object.error().message;
	auto wait = none.takeWait(":1.7");
	ASSERT_FALSE(wait);
	EXPECT_TRUE(mentions(wait.error(), "already has 0 waits")) << wait.error().message;
	EXPECT_FALSE(none.inUse(":1.7"));
}

UniqueFd sealedMemfd(uint64_t size)
{
	UniqueFd fd(memfd_create("quota-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
	EXPECT_TRUE(fd);
	EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(size)), 0);
	EXPECT_EQ(fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

// A persistent segment kept by a service whose bytes_per_connection was larger: it is
// restored, uncharged, and its creator can create nothing more past the new limit.
TEST(QuotaTest, ASegmentRestoredUnderASmallerLimitIsKept)
{
	Limits limits;
	limits.bytesPerConnection = 4096;
	Quota quota(limits);
	auto segment = SharedMemory::restore({{"", "big"}, {}}, 65536, false, sealedMemfd(65536),
					     ":1.3", quota);
	ASSERT_TRUE(segment) << segment.error().message;
	EXPECT_EQ((*segment)->size(), 65536u);
	EXPECT_TRUE((*segment)->attach(":1.3", true));
	EXPECT_TRUE(quota.takeBytes(":1.3", 4096)) << "the restored segment is not charged";
	quota.returnBytes(":1.3", 4096);
	segment->reset();
	EXPECT_FALSE(quota.inUse(":1.3"));
}

} // namespace
} // namespace ipchub::core
