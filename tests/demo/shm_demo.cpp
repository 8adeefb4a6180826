// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchub-shm-demo: a producer creates the shared-memory object "frame" and writes a frame into it;
// a consumer process opens it read-only and reads the frame through its own mapping,
// while the kernel refuses it a writable mapping and nobody can truncate the shared-memory object.
// Then the producer seals the shared-memory object: a writable open is refused from then on.

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_support.hpp"

namespace {

using namespace demo;

constexpr const char *kKey = "frame";
constexpr size_t kSize = 64 * 1024;

// The frame: a line of text, then a byte pattern the consumer checks.
std::string frameText()
{
	return "frame 1, 320x200, written by PID " + std::to_string(::getpid());
}

unsigned char patternAt(size_t i)
{
	return static_cast<unsigned char>(i * 7 + 3);
}

std::string sealNames(int fd)
{
	const int seals = ::fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return std::string("F_GET_SEALS failed: ") + std::strerror(errno);
	std::string names;
	for (auto [bit, name] : {std::pair{F_SEAL_SHRINK, "SHRINK"},
				 {F_SEAL_GROW, "GROW"},
				 {F_SEAL_FUTURE_WRITE, "FUTURE_WRITE"},
				 {F_SEAL_WRITE, "WRITE"},
				 {F_SEAL_SEAL, "SEAL"}})
		if (seals & bit)
			names += (names.empty() ? "" : "|") + std::string(name);
	return names.empty() ? "none" : names;
}

// The consumer: its own connection, the shared-memory object opened read-only; reports what it
// read and what the kernel refused.
void runConsumer(int reportFd, const std::optional<std::string> &address)
{
	auto fail = [&](const std::string &what) {
		writeLine(reportFd, "error " + what);
		::_exit(1);
	};
	auto client = connect(address);
	if (!client)
		fail("connecting: " + describe(client.error()));
	auto view = client->openSharedMemory(kKey, ipchub::Access::ReadOnly);
	if (!view)
		fail("opening: " + describe(view.error()));
	const auto bytes = view->constData();
	const std::string text(reinterpret_cast<const char *>(bytes.data()));
	size_t bad = 0;
	for (size_t i = 4096; i < bytes.size(); ++i)
		bad += static_cast<unsigned char>(bytes[i]) != patternAt(i);
	writeLine(reportFd, "read \"" + text + "\"; " + std::to_string(bytes.size() - 4096) +
				    " pattern bytes, " + std::to_string(bad) + " wrong");

	void *writable =
		::mmap(nullptr, view->size(), PROT_READ | PROT_WRITE, MAP_SHARED, view->fd(), 0);
	writeLine(reportFd, writable == MAP_FAILED
				    ? std::string("writable mmap refused: ") + std::strerror(errno)
				    : std::string("writable mmap ALLOWED"));
	const bool truncated = ::ftruncate(view->fd(), 0) == 0;
	writeLine(reportFd, truncated ? std::string("ftruncate ALLOWED")
				      : std::string("ftruncate refused: ") + std::strerror(errno));
	writeLine(reportFd, "done");
}

void runDemo(const std::optional<std::string> &address)
{
	auto client = check(connect(address), "connecting to the bus");
	say("producer",
	    "connected as " + client.uniqueName() + ", PID " + std::to_string(::getpid()));

	// A persistent "frame" left by an earlier run would make the create fail.
	if (auto old = client.openSharedMemory(kKey, ipchub::Access::ReadOnly)) {
		check(client.remove(old->path()),
		      "removing the shared-memory object left by an earlier run");
		say("producer",
		    "removed the shared-memory object \"frame\" left by an earlier run");
	}

	ipchub::SharedMemoryOptions options;
	options.persistent = true;
	auto sharedMemory = check(client.createSharedMemory(kKey, kSize, options),
				  "creating the shared-memory object \"frame\"");
	say("producer", "created the shared-memory object \"frame\", " +
				std::to_string(sharedMemory.size()) + " bytes, at " +
				sharedMemory.path());
	say("", "(persistent: it stays on the bus after this demo, for busctl and gdbus)");
	say("producer", "its memfd carries the seals " + sealNames(sharedMemory.fd()) +
				": no one can shrink or grow it under a mapping");

	auto bytes = sharedMemory.data();
	const std::string text = frameText();
	std::memcpy(bytes.data(), text.c_str(), text.size() + 1);
	for (size_t i = 4096; i < bytes.size(); ++i)
		bytes[i] = std::byte{patternAt(i)};
	say("producer", "wrote \"" + text + "\" and a byte pattern through its mapping");

	auto [child, reportFd] = forkReporting([&](int fd) { runConsumer(fd, address); });
	say("producer", "forked the consumer, PID " + std::to_string(child.pid()) +
				": it opens \"frame\" read-only and maps it");
	bool allowedWhatItShouldNot = false;
	for (;;) {
		auto line = readLine(reportFd, 10s);
		expect(line.has_value(), "the consumer did not report within 10 s");
		if (*line == "done")
			break;
		expect(!line->starts_with("error"), "the consumer failed: " + *line);
		allowedWhatItShouldNot |=
			line->find("ALLOWED") != std::string::npos ||
			(line->starts_with("read") && line->find(" 0 wrong") == std::string::npos);
		say("consumer", *line);
	}
	::close(reportFd);
	const int status = child.wait();
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the consumer did not end well");
	expect(!allowedWhatItShouldNot, "the consumer saw a wrong byte or was allowed to write");

	check(sharedMemory.seal(), "seal()");
	say("producer",
	    "sealed the shared-memory object: the seals are now " + sealNames(sharedMemory.fd()));
	auto writer = client.openSharedMemory(kKey, ipchub::Access::ReadWrite);
	expect(!writer && writer.error().code == ipchub::ErrorCode::PermissionDenied,
	       "a writable open of a sealed shared-memory object should be refused");
	say("producer", "a read-write open now fails: " + describe(writer.error()));
}

} // namespace

int main(int argc, char **argv)
{
	return runMain(
		argc, argv, "ipchub-shm-demo",
		"A producer writes a frame into the ipchubd shared-memory object \"frame\"; a\n"
		"read-only consumer reads it, and cannot write or truncate it.\n",
		runDemo);
}
