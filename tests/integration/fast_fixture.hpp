// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// What the fast-object tests share: fast objects created through the bus, and pages
// attached and mapped the way a client of them does (fast::mapReceivedPage), on a
// RawConnection of the test process or of a forked child.

#include <fcntl.h>
#include <map>
#include <string>

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
