// SPDX-License-Identifier: LGPL-2.1-or-later
#include <gtest/gtest.h>

#include "core/store_budget.hpp"

namespace ipchub::core {
namespace {

TEST(StoreBudget, RefusesWhatWouldTakeTheStatesSparePlace)
{
	StoreBudget budget(4);
	EXPECT_TRUE(budget.checkRoom("a shared-memory object"))
		<< "not counting without a service manager";
	budget.setEnabled(true);
	budget.added(); // the state's records
	ASSERT_TRUE(budget.checkRoom("a shared-memory object"));
	budget.added();
	ASSERT_TRUE(budget.checkRoom("a shared-memory object"));
	budget.added();
	// Three of four: the fourth place is the spare one for moving the state.
	auto refused = budget.checkRoom("a persistent shared-memory object");
	ASSERT_FALSE(refused);
	EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
	EXPECT_NE(refused.error().message.find("a persistent shared-memory object"),
		  std::string::npos);
	EXPECT_NE(refused.error().message.find("fd_store_max is 4"), std::string::npos)
		<< refused.error().message;
	// The new state's memfd still fits, and then nothing more.
	EXPECT_TRUE(budget.fits());
	budget.added();
	EXPECT_FALSE(budget.fits());
	budget.removed(); // the old state
	budget.removed(); // a shared-memory object that ended
	EXPECT_TRUE(budget.checkRoom("a shared-memory object"));
}

} // namespace
} // namespace ipchub::core
