// SPDX-License-Identifier: LGPL-2.1-or-later
// A gtest binary for tap_test.sh, which picks its tests with --gtest_filter: one
// passes, one skips, one fails and one dies.

#include <cstdlib>

#include <gtest/gtest.h>

TEST(Fixture, Passes)
{
	EXPECT_EQ(2 + 2, 4);
}

TEST(Fixture, Skips)
{
	GTEST_SKIP() << "what it needs is not here";
}

TEST(Fixture, Fails)
{
	ADD_FAILURE() << "the failure tap_test.sh expects";
}

TEST(Fixture, Dies)
{
	std::abort();
}
