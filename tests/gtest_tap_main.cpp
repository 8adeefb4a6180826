// SPDX-License-Identifier: LGPL-2.1-or-later
// The main() of the gtest binaries: it reports each test in TAP on stdout, which meson
// reads (protocol: 'tap'), so that a GTEST_SKIP counts as a skip: a binary whose tests
// all skipped is SKIP in meson's summary, and each skipped test is an "ok N - name #
// SKIP why" line in its log. meson 1.0's 'gtest' protocol reads the exit status only,
// where a skip is a pass.

#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

namespace {

// One line of text, with nothing that TAP reads as a directive.
std::string oneLine(std::string text)
{
	for (char &c : text)
		if (c == '\n' || c == '\r' || c == '#')
			c = ' ';
	return text;
}

class TapListener : public ::testing::EmptyTestEventListener
{
public:
	explicit TapListener(FILE *out) : out_(out) {}

	void OnTestEnd(const ::testing::TestInfo &test) override
	{
		const std::string name = std::string(test.test_suite_name()) + "." + test.name();
		report(*test.result(), name);
	}

	// A failure in SetUpTestSuite or TearDownTestSuite belongs to no test.
	void OnTestSuiteEnd(const ::testing::TestSuite &suite) override
	{
		if (suite.ad_hoc_test_result().Failed())
			report(suite.ad_hoc_test_result(), std::string(suite.name()) + " (suite)");
	}

	// The plan comes last: a binary that dies half-way has none, which meson reports.
	void OnTestProgramEnd(const ::testing::UnitTest &unit) override
	{
		if (unit.ad_hoc_test_result().Failed())
			report(unit.ad_hoc_test_result(), "(outside any test)");
		std::fprintf(out_, "1..%d\n", number_);
		std::fflush(out_);
	}

private:
	void report(const ::testing::TestResult &result, const std::string &name)
	{
		++number_;
		if (result.Failed()) {
			std::fprintf(out_, "not ok %d - %s\n", number_, oneLine(name).c_str());
		} else if (result.Skipped()) {
			std::string why;
			for (int i = 0; i < result.total_part_count(); ++i)
				if (result.GetTestPartResult(i).skipped())
					why = result.GetTestPartResult(i).message();
			std::fprintf(out_, "ok %d - %s # SKIP %s\n", number_, oneLine(name).c_str(),
				     oneLine(why).c_str());
		} else {
			std::fprintf(out_, "ok %d - %s\n", number_, oneLine(name).c_str());
		}
		std::fflush(out_);
	}

	FILE *out_;
	int number_ = 0;
};

} // namespace

int main(int argc, char **argv)
{
	// TAP keeps stdout to itself: gtest's own report, the tests' output and that of
	// every process they start go to stderr (fd 1 becomes a copy of fd 2).
	std::fflush(stdout);
	const int tap = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *out = tap < 0 ? nullptr : fdopen(tap, "w");
	if (!out || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		std::perror("gtest TAP main: cannot set up the TAP output");
		return 1;
	}

	::testing::InitGoogleTest(&argc, argv);
	std::fprintf(out, "TAP version 13\n");
	std::fflush(out);
	::testing::UnitTest::GetInstance()->listeners().Append(new TapListener(out));
	return RUN_ALL_TESTS();
}
