// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the fast-object tests share: fast objects created through the bus, and pages
// attached and mapped the way a client of them does (fast::mapReceivedPage), on a
// RawConnection of the test process or of a forked child.

#include <cstdio>
#include <fcntl.h>
#include <map>
#include <string>
#include <vector>

#include "bus_fixture.hpp"
#include "fast/layout.hpp"
#include "fast/page.hpp"

namespace ipchub::test {

constexpr const char *kFastBusName = "io.github.ipchub1";
constexpr const char *kFastManagerPath = "/io/github/ipchub1";
constexpr const char *kFastManager = "io.github.ipchub1.Manager";
constexpr const char *kFastSemaphore = "io.github.ipchub1.Semaphore";
constexpr const char *kFastLock = "io.github.ipchub1.Lock";

inline std::string createFastSemaphore(RawConnection &raw, const std::string &key, uint32_t initial,
				       uint32_t max, bool fast = true)
{
	return raw.createSemaphore(key, initial,
				   {{"fast", sdbus::Variant(fast)}, {"max", sdbus::Variant(max)}});
}

inline std::string createFastLock(RawConnection &raw, const std::string &key, bool fast = true,
				  const std::map<std::string, sdbus::Variant> &more = {})
{
	auto options = more;
	options.emplace("fast", sdbus::Variant(fast));
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, kFastManagerPath);
	sdbus::ObjectPath path;
	proxy->callMethod("CreateLock")
		.onInterface(kFastManager)
		.withArguments(key, options)
		.storeResultsTo(path);
	return path;
}

// A semaphore page as a client holds it.
struct AttachedSemaphore {
	fast::Mapping mapping;
	uint32_t owner = 0;
	uint32_t attach = 0;
	fast::SemaphoreShape shape{};
	fast::SemaphoreView view() const { return {mapping.address(), shape}; }
};

struct AttachedLock {
	fast::Mapping mapping;
	uint32_t owner = 0;
	fast::LockShape shape{};
	fast::LockView view() const { return {mapping.address(), shape}; }
};

// Throws sdbus::Error as the call fails.
inline AttachedSemaphore attachSemaphore(RawConnection &raw, const std::string &path)
{
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, path);
	sdbus::UnixFd fd;
	AttachedSemaphore attached;
	proxy->callMethod("AttachFast")
		.onInterface(kFastSemaphore)
		.storeResultsTo(fd, attached.owner, attached.attach, attached.shape.units,
				attached.shape.attachSlots);
	auto mapping =
		fast::mapReceivedPage(UniqueFd(fd.release()), fast::pageSize(attached.shape));
	if (!mapping)
		throw sdbus::Error("test.MapFailed", fast::describe(mapping.error()));
	attached.mapping = std::move(*mapping);
	return attached;
}

inline AttachedLock attachLock(RawConnection &raw, const std::string &path)
{
	auto proxy = sdbus::createProxy(raw.connection(), kFastBusName, path);
	sdbus::UnixFd fd;
	AttachedLock attached;
	proxy->callMethod("AttachFast")
		.onInterface(kFastLock)
		.storeResultsTo(fd, attached.owner, attached.shape.readerSlots);
	auto mapping =
		fast::mapReceivedPage(UniqueFd(fd.release()), fast::pageSize(attached.shape));
	if (!mapping)
		throw sdbus::Error("test.MapFailed", fast::describe(mapping.error()));
	attached.mapping = std::move(*mapping);
	return attached;
}

// Sends method with args to the object at path on raw, without waiting: the reply
// is dispatched by raw.pump() (RawConnection::Reply).
template <typename... Args>
std::shared_ptr<RawConnection::Reply>
callAsync(RawConnection &raw, std::vector<std::unique_ptr<sdbus::IProxy>> &proxies,
	  const std::string &path, const char *interface, const char *method, const Args &...args)
{
	auto reply = std::make_shared<RawConnection::Reply>();
	auto &proxy =
		proxies.emplace_back(sdbus::createProxy(raw.connection(), kFastBusName, path));
	auto call = proxy->createMethodCall(interface, method);
	(call << ... << args);
	reply->sentAt = std::chrono::steady_clock::now();
	proxy->callMethod(
		call,
		[reply](sdbus::MethodReply &, const sdbus::Error *error) {
			reply->done = true;
			reply->repliedAt = std::chrono::steady_clock::now();
			if (error) {
				reply->error = error->getName();
				reply->message = error->getMessage();
			}
		},
		UINT64_MAX);
	return reply;
}

// Whether process pid sleeps (state S), as a futex waiter does.
inline bool sleeping(pid_t pid)
{
	std::string path = "/proc/" + std::to_string(pid) + "/stat";
	FILE *file = std::fopen(path.c_str(), "r");
	if (!file)
		return false;
	char buffer[512] = {};
	const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, file);
	std::fclose(file);
	const std::string stat(buffer, n);
	const auto paren = stat.rfind(')');
	return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'S';
}

// The D-Bus error name of what call threw; "" when it did not throw.
template <typename Call>
std::string errorOfCall(Call &&call)
{
	try {
		call();
	} catch (const sdbus::Error &e) {
		return e.getName();
	}
	return "";
}

} // namespace ipchub::test
