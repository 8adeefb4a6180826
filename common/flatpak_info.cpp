// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/flatpak_info.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

namespace ipchub::common {

namespace {

// Flatpak writes a few hundred bytes; anything past this is not a .flatpak-info.
constexpr size_t kMaxInfoSize = 64 * 1024;

std::string_view trim(std::string_view text)
{
	const auto first = text.find_first_not_of(" \t\r");
	if (first == std::string_view::npos)
		return {};
	const auto last = text.find_last_not_of(" \t\r");
	return text.substr(first, last - first + 1);
}

bool isAsciiDigit(char c)
{
	return c >= '0' && c <= '9';
}

bool isAppIdChar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isAsciiDigit(c) || c == '_' ||
	       c == '-';
}

Error refused(const std::string &why)
{
	return {ErrorCode::PermissionDenied,
		"the caller is in a Flatpak sandbox that cannot be identified: " + why};
}

} // namespace

bool isValidAppId(std::string_view id)
{
	if (id.empty() || id.size() > 255)
		return false;
	size_t elements = 0;
	size_t start = 0;
	for (;;) {
		const size_t dot = id.find('.', start);
		const std::string_view element =
			id.substr(start, dot == std::string_view::npos ? id.npos : dot - start);
		if (element.empty() || isAsciiDigit(element.front()))
			return false;
		for (char c : element)
			if (!isAppIdChar(c))
				return false;
		++elements;
		if (dot == std::string_view::npos)
			break;
		start = dot + 1;
	}
	return elements >= 2;
}

Result<std::string> parseFlatpakInfo(std::string_view text)
{
	bool inApplication = false;
	while (!text.empty()) {
		const size_t end = text.find('\n');
		const std::string_view line = trim(text.substr(0, end));
		text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
		if (line.empty() || line.front() == '#')
			continue;
		if (line.front() == '[') {
			inApplication = line == "[Application]";
			continue;
		}
		const size_t equals = line.find('=');
		if (!inApplication || equals == std::string_view::npos ||
		    trim(line.substr(0, equals)) != "name")
			continue;
		const std::string_view name = trim(line.substr(equals + 1));
		if (!isValidAppId(name))
			return detail::Unexpected<Error>(
				refused("its .flatpak-info names an invalid app id (" +
					std::to_string(name.size()) + " bytes)"));
		return std::string(name);
	}
	return detail::Unexpected<Error>(refused("its .flatpak-info has no [Application] name="));
}

Result<std::string> appIdInRoot(int rootFd)
{
	UniqueFd fd(openat(rootFd, ".flatpak-info",
			   O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
	if (!fd) {
		const int error = errno;
		if (error == ENOENT)
			return std::string();
		if (error == EMFILE || error == ENFILE)
			return fail(ErrorCode::LimitExceeded,
				    std::string("cannot identify the caller now: .flatpak-info: ") +
					    std::strerror(error));
		return detail::Unexpected<Error>(refused(
			std::string("cannot open its .flatpak-info: ") + std::strerror(error)));
	}
	struct stat info {
	};
	if (fstat(fd.get(), &info) < 0 || !S_ISREG(info.st_mode))
		return detail::Unexpected<Error>(
			refused("its .flatpak-info is not a regular file"));
	if (static_cast<uint64_t>(info.st_size) > kMaxInfoSize)
		return detail::Unexpected<Error>(
			refused("its .flatpak-info is " + std::to_string(info.st_size) +
				" bytes; at most " + std::to_string(kMaxInfoSize)));

	std::string text(kMaxInfoSize + 1, '\0');
	size_t length = 0;
	while (length < text.size()) {
		const ssize_t n = read(fd.get(), text.data() + length, text.size() - length);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			const int error = errno;
			return detail::Unexpected<Error>(
				refused(std::string("cannot read its .flatpak-info: ") +
					std::strerror(error)));
		}
		if (n == 0)
			break;
		length += static_cast<size_t>(n);
	}
	if (length > kMaxInfoSize)
		return detail::Unexpected<Error>(refused("its .flatpak-info grew past " +
							 std::to_string(kMaxInfoSize) + " bytes"));
	text.resize(length);
	return parseFlatpakInfo(text);
}

Result<std::string> appIdOfProcess(int pid)
{
	const std::string root = "/proc/" + std::to_string(pid) + "/root";
	UniqueFd rootFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (!rootFd) {
		const int error = errno;
		// Out of descriptors is a passing condition, not a verdict on the caller.
		return fail(error == EMFILE || error == ENFILE ? ErrorCode::LimitExceeded
							       : ErrorCode::PermissionDenied,
			    "cannot identify the caller: " + root + ": " + std::strerror(error));
	}
	return appIdInRoot(rootFd.get());
}

} // namespace ipchub::common
