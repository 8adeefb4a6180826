// SPDX-License-Identifier: LGPL-2.1-or-later
// The app id of a caller, from its sandbox's /.flatpak-info, with no bus: the parsing,
// and the files a hostile sandbox could put there instead of a key file.

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/flatpak_info.hpp"
#include "common/unique_fd.hpp"

namespace ipchub::common {
namespace {

TEST(AppId, AcceptsFlatpakNames)
{
	EXPECT_TRUE(isValidAppId("org.example.App"));
	EXPECT_TRUE(isValidAppId("io.github.some_one.My-App2"));
	EXPECT_TRUE(isValidAppId("a.b"));
	EXPECT_TRUE(isValidAppId("org." + std::string(251, 'x')));
}

TEST(AppId, RefusesWhatCannotBeAnAppId)
{
	for (const std::string &id :
	     std::initializer_list<std::string>{"", "org", ".org.App", "org..App", "org.App.",
						"org.2App", "org.App/x", "org.App x", "org.Äpp",
						std::string("org.A\0pp", 8),
						"org." + std::string(252, 'x')})
		EXPECT_FALSE(isValidAppId(id)) << id;
}

TEST(FlatpakInfo, NameOfTheApplicationGroup)
{
	EXPECT_EQ(parseFlatpakInfo("[Application]\nname=org.example.App\nruntime=r/x\n").value(),
		  "org.example.App");
	// As flatpak writes it: other groups first, comments, CRLF, blanks around '='.
	EXPECT_EQ(parseFlatpakInfo("# written by flatpak\n[Instance]\nname=org.evil.Other\n\n"
				   "[Application]\r\nruntime=r\r\nname = org.example.App \r\n")
			  .value(),
		  "org.example.App");
	// No trailing newline.
	EXPECT_EQ(parseFlatpakInfo("[Application]\nname=org.example.App").value(),
		  "org.example.App");
}

TEST(FlatpakInfo, NoUsableNameIsRefusedNotTakenForTheHost)
{
	for (const std::string &text : std::initializer_list<std::string>{
		     "", "\n\n", "[Application]\n", "[Application]\nname=\n",
		     "name=org.example.App\n", "[Instance]\nname=org.example.App\n",
		     "[Application]\nnames=org.example.App\n", "[Application]\nname=../../etc\n",
		     "[Application]\nname=org.example.App/x\n",
		     "[Application]\nname=" + std::string(300, 'a') + ".b\n",
		     "\xff\xfe[Application]"}) {
		auto appId = parseFlatpakInfo(text);
		ASSERT_FALSE(appId) << text;
		EXPECT_EQ(appId.error().code, ErrorCode::PermissionDenied);
		EXPECT_NE(appId.error().message.find(".flatpak-info"), std::string::npos);
	}
}

// A directory standing for a sandbox's root, removed with everything in it.
class Root
{
public:
	Root()
	{
		char pattern[] = "/tmp/ipchub-unit-root-XXXXXX";
		if (!mkdtemp(pattern))
			throw std::runtime_error("mkdtemp failed");
		path_ = pattern;
		fd_.reset(open(path_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
	}
	~Root()
	{
		unlink(info().c_str());
		rmdir(info().c_str());
		rmdir(path_.c_str());
	}
	std::string info() const { return path_ + "/.flatpak-info"; }
	int fd() const { return fd_.get(); }

private:
	std::string path_;
	UniqueFd fd_;
};

TEST(FlatpakInfo, NoFileIsTheHost)
{
	Root root;
	EXPECT_EQ(appIdInRoot(root.fd()).value(), "");
}

TEST(FlatpakInfo, ReadsTheAppId)
{
	Root root;
	std::ofstream(root.info()) << "[Application]\nname=org.example.App\n";
	EXPECT_EQ(appIdInRoot(root.fd()).value(), "org.example.App");
}

TEST(FlatpakInfo, EmptyFileIsRefused)
{
	Root root;
	std::ofstream(root.info()) << "";
	ASSERT_FALSE(appIdInRoot(root.fd()));
	EXPECT_EQ(appIdInRoot(root.fd()).error().code, ErrorCode::PermissionDenied);
}

TEST(FlatpakInfo, FifoIsRefusedWithoutBlocking)
{
	Root root;
	ASSERT_EQ(mkfifo(root.info().c_str(), 0600), 0);
	auto appId = appIdInRoot(root.fd());
	ASSERT_FALSE(appId);
	EXPECT_NE(appId.error().message.find("not a regular file"), std::string::npos);
}

TEST(FlatpakInfo, SymlinkIsRefused)
{
	Root root;
	ASSERT_EQ(symlink("/etc/os-release", root.info().c_str()), 0);
	auto appId = appIdInRoot(root.fd());
	ASSERT_FALSE(appId);
	EXPECT_EQ(appId.error().code, ErrorCode::PermissionDenied);
}

TEST(FlatpakInfo, DirectoryAndHugeFileAreRefused)
{
	{
		Root root;
		ASSERT_EQ(mkdir(root.info().c_str(), 0700), 0);
		EXPECT_FALSE(appIdInRoot(root.fd()));
	}
	Root root;
	std::ofstream(root.info()) << "[Application]\nname=org.example.App\n"
				   << std::string(100 * 1024, '#');
	auto appId = appIdInRoot(root.fd());
	ASSERT_FALSE(appId);
	EXPECT_NE(appId.error().message.find("at most 65536"), std::string::npos);
}

TEST(FlatpakInfo, GoneProcessIsRefused)
{
	// pid_max is at most 2^22: this process cannot exist.
	auto appId = appIdOfProcess(1 << 30);
	ASSERT_FALSE(appId);
	EXPECT_EQ(appId.error().code, ErrorCode::PermissionDenied);
	EXPECT_EQ(appIdOfProcess(getpid()).value(), "");
}

} // namespace
} // namespace ipchub::common
