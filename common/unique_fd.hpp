// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <unistd.h>
#include <utility>

namespace ipchub {

// The single owner of a file descriptor: closed when the owner goes, moved never
// copied, so no descriptor is leaked or closed twice. No public header of the library
// uses it; it stays in namespace ipchub, where the library, the service and ipchubctl
// have always named it.
class UniqueFd
{
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) {}
	UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
	UniqueFd &operator=(UniqueFd &&other) noexcept
	{
		reset(other.release());
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	~UniqueFd() { reset(); }

	int get() const { return fd_; }
	bool isValid() const { return fd_ >= 0; }
	explicit operator bool() const { return isValid(); }

	// Gives the descriptor up to the caller, who must close it.
	int release() { return std::exchange(fd_, -1); }

	void reset(int fd = -1)
	{
		const int old = std::exchange(fd_, fd);
		if (old >= 0)
			::close(old);
	}

private:
	int fd_ = -1;
};

} // namespace ipchub
