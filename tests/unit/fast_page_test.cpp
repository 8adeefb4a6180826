// SPDX-License-Identifier: LGPL-2.1-or-later
// Pages, mappings, owner ids and thread slots of the fast objects.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fast_test_support.hpp"
#include "ids.hpp"

namespace ipchub::fast {
namespace {

TEST(FastPage, ACreatedPageIsSealedAgainstResizing)
{
	auto fd = createPage("fast-test", 8192);
	ASSERT_TRUE(fd) << describe(fd.error());
	const int seals = fcntl(fd->get(), F_GET_SEALS);
	EXPECT_EQ(seals, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	EXPECT_EQ(ftruncate(fd->get(), 4096), -1);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(ftruncate(fd->get(), 16384), -1);
	EXPECT_EQ(fcntl(fd->get(), F_ADD_SEALS, F_SEAL_WRITE), -1);
	EXPECT_NE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(FastPage, AClientMappingClosesTheDescriptorAndIsNotInherited)
{
	test::ServicePage page(4096);
	const int dup = fcntl(page.fd.get(), F_DUPFD_CLOEXEC, 0);
	ASSERT_GE(dup, 0);
	auto mapped = mapReceivedPage(UniqueFd(dup), 4096);
	ASSERT_TRUE(mapped) << describe(mapped.error());
	EXPECT_EQ(fcntl(dup, F_GETFD), -1);
	EXPECT_EQ(errno, EBADF);

	auto *mine = static_cast<volatile uint32_t *>(mapped->address());
	*mine = 42;
	EXPECT_EQ(*static_cast<uint32_t *>(page.mapping.address()), 42u);
	// A forked child has no such mapping: it cannot write the page.
	const pid_t child = test::forkChild([&] {
		// The kernel's answer, not a sanitizer's report of it.
		struct sigaction fault {};
		fault.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &fault, nullptr);
		*mine = 7;
		return 0;
	});
	EXPECT_EQ(test::reap(child), 128 + SIGSEGV);
	EXPECT_EQ(*static_cast<uint32_t *>(page.mapping.address()), 42u);
}

TEST(FastPage, AClientRefusesAnUnsealedOrShortDescriptor)
{
	UniqueFd plain(memfd_create("plain", MFD_CLOEXEC));
	ASSERT_EQ(ftruncate(plain.get(), 4096), 0);
	auto unsealed = mapReceivedPage(std::move(plain), 4096);
	ASSERT_FALSE(unsealed);
	EXPECT_EQ(unsealed.error().code, Errc::InvalidPage);

	auto small = createPage("small", 4096);
	ASSERT_TRUE(small);
	auto shortPage = mapReceivedPage(std::move(*small), 8192);
	ASSERT_FALSE(shortPage);
	EXPECT_EQ(shortPage.error().code, Errc::InvalidPage);
}

TEST(FastPage, AMappingHasOneOwner)
{
	test::ServicePage page(4096);
	Mapping first = std::move(page.mapping);
	EXPECT_EQ(page.mapping.address(), nullptr);
	void *address = first.address();
	Mapping second;
	second = std::move(first);
	EXPECT_EQ(second.address(), address);
	EXPECT_EQ(first.address(), nullptr);
}

TEST(FastPage, SizesAreBoundedAndWholePages)
{
	EXPECT_TRUE(isValid(LockShape{0}));
	EXPECT_FALSE(isValid(LockShape{kMaxReaderSlots + 1}));
	EXPECT_FALSE(isValid(SemaphoreShape{0, 1}));
	EXPECT_FALSE(isValid(SemaphoreShape{1, 0}));
	EXPECT_FALSE(isValid(SemaphoreShape{kMaxUnits + 1, 1}));
	EXPECT_EQ(pageSize(LockShape{16}), 4096u);
	EXPECT_EQ(pageSize(SemaphoreShape{3, 16}) % 4096, 0u);
	EXPECT_EQ(pageSize(SemaphoreShape{1000, 16}), 4096u * 2);
}

TEST(FastIds, OwnerIdsAreNeverZeroAndNotReusedUntilWrap)
{
	RoundRobinIds ids(1, 5);
	EXPECT_EQ(*ids.allocate(), 1u);
	EXPECT_EQ(*ids.allocate(), 2u);
	EXPECT_EQ(*ids.allocate(), 3u);
	ids.release(1);
	EXPECT_EQ(*ids.allocate(), 4u);
	// Wrapped: 1 is free again, 2 and 3 are still in use.
	EXPECT_EQ(*ids.allocate(), 1u);
	auto full = ids.allocate();
	ASSERT_FALSE(full);
	EXPECT_EQ(full.error().code, Errc::Exhausted);
	ids.release(3);
	EXPECT_EQ(*ids.allocate(), 3u);
	EXPECT_EQ(ids.count(), 4u);
	ids.release(0);
	ids.release(99);
	EXPECT_EQ(ids.count(), 4u);

	OwnerIds owners;
	const uint32_t first = *owners.allocate();
	EXPECT_EQ(first, 1u);
	EXPECT_NE(makeToken(first, 0), 0u);
	EXPECT_EQ(ownerOf(makeToken(kOwnerLimit - 1, kMaxSlots - 1)), kOwnerLimit - 1);
	EXPECT_EQ(makeToken(kOwnerLimit - 1, kMaxSlots - 1) & (kWaiters | kDied | kShared), 0u);
}

TEST(FastIds, EachThreadHasItsOwnSlotUntilItEnds)
{
	const uint32_t mine = *currentThreadSlot();
	EXPECT_EQ(*currentThreadSlot(), mine);
	std::set<uint32_t> seen{mine};
	std::vector<uint32_t> slots(4);
	std::vector<std::thread> threads;
	std::atomic<int> ready{0};
	std::atomic<bool> go{false};
	for (int t = 0; t < 4; ++t)
		threads.emplace_back([&, t] {
			slots[t] = *currentThreadSlot();
			ready++;
			// Live together: their slots must differ.
			while (!go)
				std::this_thread::yield();
		});
	while (ready < 4)
		std::this_thread::yield();
	go = true;
	for (auto &thread : threads)
		thread.join();
	for (uint32_t slot : slots) {
		EXPECT_LT(slot, kMaxSlots);
		seen.insert(slot);
	}
	EXPECT_EQ(seen.size(), 5u);
	// The ended threads' slots are not handed out again at once.
	uint32_t next = 0;
	std::thread([&] { next = *currentThreadSlot(); }).join();
	EXPECT_EQ(seen.count(next), 0u);
}

} // namespace
} // namespace ipchub::fast
