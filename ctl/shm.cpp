// SPDX-License-Identifier: LGPL-2.1-or-later
// ipchubctl shm create|write|read: shared-memory objects from the shell.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "values.hpp"
#include "verb.hpp"

namespace ipchub::ctl {

namespace {

Result<int> create(Client &client, const Arguments &args)
{
	auto size = parseSize(args.positional[1], "SIZE");
	if (!size)
		return errorOf(size);
	auto sharedMemory = client.createSharedMemory(args.positional[0], *size,
						      {.persistent = true,
						       .scope = args.value(kScopeOption.name)});
	if (!sharedMemory)
		return errorOf(sharedMemory);
	return 0;
}

Result<void> systemError(std::string what)
{
	const int error = errno;
	return fail(ErrorCode::Failed, what + ": " + std::strerror(error));
}

// Reads fd to its end into bytes; fails once more than bytes.size() arrive.
Result<size_t> readAll(int fd, std::span<std::byte> bytes, const std::string &what)
{
	size_t filled = 0;
	for (;;) {
		std::byte extra;
		const bool full = filled == bytes.size();
		const ssize_t n = full ? read(fd, &extra, 1)
				       : read(fd, bytes.data() + filled, bytes.size() - filled);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return detail::Unexpected<Error>(
				systemError("cannot read standard input").error());
		if (n == 0)
			return filled;
		if (full)
			return fail(ErrorCode::InvalidArgument,
				    "standard input is larger than " + what + " (" +
					    std::to_string(bytes.size()) + " bytes)");
		filled += static_cast<size_t>(n);
	}
}

Result<void> writeAll(int fd, std::span<const std::byte> bytes)
{
	while (!bytes.empty()) {
		const ssize_t n = write(fd, bytes.data(), bytes.size());
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return systemError("cannot write standard output");
		bytes = bytes.subspan(static_cast<size_t>(n));
	}
	return {};
}

Result<int> writeSharedMemory(Client &client, const Arguments &args)
{
	const std::string &key = args.positional[0];
	auto sharedMemory = client.openSharedMemory(key, Access::ReadWrite, args.openOptions());
	if (!sharedMemory)
		return errorOf(sharedMemory);
	// Staged first, so that input too large leaves the shared-memory object as it was.
	std::vector<std::byte> staged(sharedMemory->size());
	auto length = readAll(STDIN_FILENO, staged, "shared memory \"" + key + "\"");
	if (!length)
		return errorOf(length);
	auto locked = sharedMemory->lock();
	if (!locked)
		return errorOf(locked);
	auto bytes = sharedMemory->data();
	std::copy_n(staged.begin(), *length, bytes.begin());
	std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(*length), bytes.end(), std::byte{0});
	return 0;
}

Result<int> readSharedMemory(Client &client, const Arguments &args)
{
	auto sharedMemory =
		client.openSharedMemory(args.positional[0], Access::ReadOnly, args.openOptions());
	if (!sharedMemory)
		return errorOf(sharedMemory);
	// A copy taken under the lock, so a slow reader of stdout does not hold it.
	std::vector<std::byte> copy;
	{
		auto locked = sharedMemory->lock();
		if (!locked)
			return errorOf(locked);
		const auto bytes = sharedMemory->constData();
		copy.assign(bytes.begin(), bytes.end());
	}
	if (auto written = writeAll(STDOUT_FILENO, copy); !written)
		return errorOf(written);
	return 0;
}

} // namespace

// Parallels the other verb tables on purpose (see objectVerbs in objects.cpp).
std::vector<Verb> sharedMemoryVerbs()
{
	return {
		{
			.name = "shm create",
			.synopsis = "KEY SIZE [--persistent] [--scope APP_ID]",
			.summary = "create a shared-memory object",
			.help = R"(Creates the shared-memory object KEY of SIZE bytes, filled with zeros. SIZE
takes a suffix K, M or G (powers of 1024). It fails if KEY exists already.

The object is persistent: it stays after ipchubctl exits until it is removed with
"ipchubctl remove shm KEY". --persistent says so explicitly.)",
			.options = {{"--persistent", false}, kScopeOption},
			.minPositional = 2,
			.maxPositional = 2,
			.takesCommand = false,
			.run = create,
		},
		{
			.name = "shm write",
			.synopsis = "KEY [--scope APP_ID] < FILE",
			.summary = "copy standard input into a shared-memory object",
			.help = R"(Copies standard input to the start of the existing shared-memory object KEY
and fills the rest of it with zeros, holding the object's lock (as
QSharedMemory::lock() does) while it copies; it waits for the lock without limit.
Input larger than the object is an error and leaves the object unchanged. A
sealed object cannot be written.)",
			.options = {kScopeOption},
			.minPositional = 1,
			.maxPositional = 1,
			.takesCommand = false,
			.run = writeSharedMemory,
		},
		{
			.name = "shm read",
			.synopsis = "KEY [--scope APP_ID] > FILE",
			.summary = "copy a shared-memory object to standard output",
			.help = R"(Writes the whole shared-memory object KEY (its size in bytes) to standard
output, copied while holding the object's lock; it waits for the lock without
limit.)",
			.options = {kScopeOption},
			.minPositional = 1,
			.maxPositional = 1,
			.takesCommand = false,
			.run = readSharedMemory,
		},
	};
}

} // namespace ipchub::ctl
