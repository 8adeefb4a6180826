// SPDX-License-Identifier: LGPL-2.1-or-later
// AttachFast through the real ipchubd: the page it gives works as the object (what a
// client does there shows in the properties, and the other way round), and its
// refusals: not a fast object, max past fast_units_max.

#include <tuple>

#include "fast/lock.hpp"
#include "fast/semaphore.hpp"
#include "fast_fixture.hpp"

namespace ipchub::test {
namespace {

using FastAttachTest = IpchubTest;

TEST_F(FastAttachTest, SemaphorePageHoldsTheUnitsTheBusShows)
{
	RawConnection raw(address());
	const auto path = createFastSemaphore(raw, "jobs", 2, 3);
	EXPECT_TRUE(raw.property(path, kFastSemaphore, "Fast").get<bool>());
	auto page = attachSemaphore(raw, path);
	EXPECT_EQ(page.shape.units, 3u);
	EXPECT_GE(page.shape.attachSlots, 2u);
	EXPECT_LT(page.attach, page.shape.attachSlots);
	ASSERT_NE(page.owner, 0u);
	const auto view = page.view();
	EXPECT_EQ(fast::freeUnits(view), 2u);

	fast::Holder me{fast::makeToken(page.owner, 1), page.attach};
	auto unit = fast::acquire(view, me, fast::Deadline::none());
	ASSERT_TRUE(unit);
	EXPECT_EQ(raw.value(path), 1u);
	auto holders = raw.property(path, kFastSemaphore, "Holders")
			       .get<std::vector<sdbus::Struct<std::string, uint32_t>>>();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].get<0>(), raw.uniqueName());
	EXPECT_EQ(holders[0].get<1>(), 1u);

	// Through the bus the last free unit is taken on the same page.
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, path);
	bool acquired = false;
	proxy->callMethod("TryAcquire")
		.onInterface(kFastSemaphore)
		.withArguments(1u)
		.storeResultsTo(acquired);
	EXPECT_TRUE(acquired);
	EXPECT_EQ(fast::freeUnits(view), 0u);
	proxy->callMethod("TryAcquire")
		.onInterface(kFastSemaphore)
		.withArguments(1u)
		.storeResultsTo(acquired);
	EXPECT_FALSE(acquired);

	ASSERT_TRUE(fast::release(view, unit->index, me.token));
	proxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(1u);
	EXPECT_EQ(fast::freeUnits(view), 2u);
	EXPECT_EQ(raw.value(path), 2u);
	// A release past what the caller holds is a post, up to max; then LimitExceeded.
	proxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(1u);
	EXPECT_EQ(fast::freeUnits(view), 3u);
	EXPECT_EQ(errorOfCall([&] {
			  proxy->callMethod("Release").onInterface(kFastSemaphore).withArguments(1u);
		  }),
		  errorName("LimitExceeded"));

	// Again on the same connection: the same owner and slot, a new descriptor.
	auto again = attachSemaphore(raw, path);
	EXPECT_EQ(again.owner, page.owner);
	EXPECT_EQ(again.attach, page.attach);
	EXPECT_EQ(fast::freeUnits(again.view()), 3u);
}

TEST_F(FastAttachTest, LockPageHoldsTheLockTheBusShows)
{
	RawConnection raw(address());
	RawConnection other(address());
	const auto path = createFastLock(raw, "db");
	EXPECT_TRUE(raw.property(path, kFastLock, "Fast").get<bool>());
	auto page = attachLock(raw, path);
	ASSERT_NE(page.owner, 0u);
	ASSERT_GE(page.shape.readerSlots, 1u);
	const auto view = page.view();
	const uint32_t token = fast::makeToken(page.owner, 1);
	ASSERT_TRUE(fast::lock(view, token, fast::Deadline::none()));
	EXPECT_EQ(raw.property(path, kFastLock, "Mode").get<std::string>(), "exclusive");
	using Holder =
		sdbus::Struct<std::string, std::string, uint32_t, std::string, uint64_t, uint64_t>;
	auto holders = raw.property(path, kFastLock, "Holders").get<std::vector<Holder>>();
	ASSERT_EQ(holders.size(), 1u);
	EXPECT_EQ(holders[0].get<0>(), raw.uniqueName());
	EXPECT_EQ(holders[0].get<1>(), "exclusive");

	auto proxy = sdbus::createProxy(other.connection(), kFastBusName, path);
	std::tuple<bool, uint64_t> tried;
	proxy->callMethod("TryAcquire")
		.onInterface(kFastLock)
		.withArguments("exclusive")
		.storeResultsTo(std::get<0>(tried), std::get<1>(tried));
	EXPECT_FALSE(std::get<0>(tried));

	ASSERT_TRUE(fast::unlock(view, token));
	EXPECT_EQ(raw.property(path, kFastLock, "Mode").get<std::string>(), "unlocked");
	// A grant through the bus takes the page's word and the next token of its counter.
	view.token().store(41);
	proxy->callMethod("TryAcquire")
		.onInterface(kFastLock)
		.withArguments("exclusive")
		.storeResultsTo(std::get<0>(tried), std::get<1>(tried));
	EXPECT_TRUE(std::get<0>(tried));
	EXPECT_EQ(std::get<1>(tried), 42u);
	EXPECT_EQ(raw.property(path, kFastLock, "Token").get<uint64_t>(), 42u);
	auto blocked = fast::lock(view, token, fast::Deadline::none());
	ASSERT_FALSE(blocked);
	EXPECT_EQ(blocked.error().code, fast::Errc::WouldBlock);
	proxy->callMethod("Release").onInterface(kFastLock);
	EXPECT_TRUE(fast::lock(view, token, fast::Deadline::none()));
}

TEST_F(FastAttachTest, RefusesObjectsThatAreNotFast)
{
	RawConnection raw(address());
	const auto semaphore = createFastSemaphore(raw, "plain", 1, 3, false);
	const auto lock = createFastLock(raw, "plain", false);
	EXPECT_FALSE(raw.property(semaphore, kFastSemaphore, "Fast").get<bool>());
	EXPECT_FALSE(raw.property(lock, kFastLock, "Fast").get<bool>());
	EXPECT_EQ(errorOfCall([&] { attachSemaphore(raw, semaphore); }),
		  errorName("InvalidArgument"));
	EXPECT_EQ(errorOfCall([&] { attachLock(raw, lock); }), errorName("InvalidArgument"));
}

TEST_F(FastAttachTest, MaxIsBoundByFastUnitsMax)
{
	RawConnection raw(address());
	auto limits = raw.property(kFastManagerPath, kFastManager, "Limits")
			      .get<std::map<std::string, sdbus::Variant>>();
	ASSERT_TRUE(limits.contains("fast_units_max"));
	const uint32_t most = limits["fast_units_max"].get<uint32_t>();
	EXPECT_EQ(most, 1024u);
	std::string message;
	try {
		createFastSemaphore(raw, "big", 1, most + 1);
	} catch (const sdbus::Error &e) {
		EXPECT_EQ(e.getName(), errorName("LimitExceeded"));
		message = e.getMessage();
	}
	EXPECT_NE(message.find("max"), std::string::npos) << message;
	EXPECT_NE(message.find("fast_units_max"), std::string::npos) << message;
	// Without max a fast semaphore gets the limit.
	const auto path = raw.createSemaphore("default", 1, {{"fast", sdbus::Variant(true)}});
	EXPECT_EQ(raw.property(path, kFastSemaphore, "Max").get<uint32_t>(), most);
	auto page = attachSemaphore(raw, path);
	EXPECT_EQ(page.shape.units, most);
	EXPECT_EQ(fast::freeUnits(page.view()), 1u);
}

TEST_F(FastAttachTest, AttachSlotsRunOutAndComeBackWhenAConnectionLeaves)
{
	RawConnection raw(address());
	const auto path = createFastSemaphore(raw, "crowded", 1, 1);
	auto first = attachSemaphore(raw, path);
	std::vector<std::unique_ptr<RawConnection>> others;
	std::vector<AttachedSemaphore> pages;
	std::string refused;
	std::string message;
	for (uint32_t i = 0; i < first.shape.attachSlots && refused.empty(); ++i) {
		auto other = std::make_unique<RawConnection>(address());
		try {
			pages.push_back(attachSemaphore(*other, path));
			others.push_back(std::move(other));
		} catch (const sdbus::Error &e) {
			refused = e.getName();
			message = e.getMessage();
		}
	}
	EXPECT_EQ(refused, errorName("LimitExceeded"));
	EXPECT_NE(message.find("attach slots"), std::string::npos) << message;
	// ipchubd keeps slot 0 for itself: every other slot went to one connection.
	EXPECT_EQ(pages.size() + 1, first.shape.attachSlots - 1);
	// A connection that leaves gives its slot back.
	const uint32_t freed = pages.back().attach;
	pages.pop_back();
	others.pop_back();
	RawConnection late(address());
	ASSERT_TRUE(waitFor([&] {
		return errorOfCall([&] { pages.push_back(attachSemaphore(late, path)); }).empty();
	}));
	EXPECT_EQ(pages.back().attach, freed);
}

} // namespace
} // namespace ipchub::test
