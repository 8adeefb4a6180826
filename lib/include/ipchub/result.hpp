// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// ipchub::Result<T>: the value or the error of every call in the service core and the
// client library. No exception crosses either API.

#include <string>
#include <string_view>
#include <utility>

// tl::expected (Debian's libexpected-dev, header-only) for every program: the type is
// fixed when the library is built, never picked by a program's own flags, and works
// from C++17 on. std::expected would tie the headers to C++23.
#include <tl/expected.hpp>

namespace ipchub::detail {
template <typename T, typename E>
using Expected = tl::expected<T, E>;
template <typename E>
using Unexpected = tl::unexpected<E>;
} // namespace ipchub::detail

namespace ipchub {

// One code per D-Bus error name of the contract (io.github.ipchub1.Error.<Name>),
// plus Failed for anything else the bus or the system reports.
enum class ErrorCode {
	NotFound,
	AlreadyExists,
	InvalidKey,
	InvalidArgument,
	PermissionDenied,
	WouldBlock,
	Timeout,
	LimitExceeded,
	NotHeld,
	Cancelled,
	Failed,
};

inline constexpr std::string_view kErrorPrefix = "io.github.ipchub1.Error.";

// The short name of a code: "NotFound" for ErrorCode::NotFound.
std::string_view errorCodeName(ErrorCode code);
// The code of a D-Bus error name; Failed for names outside the contract.
ErrorCode errorCodeFromDbusName(std::string_view name);
// The full D-Bus error name: "io.github.ipchub1.Error.NotFound".
std::string dbusErrorName(ErrorCode code);

struct Error {
	ErrorCode code;
	std::string message;
};

template <typename T>
using Result = detail::Expected<T, Error>;

inline detail::Unexpected<Error> fail(ErrorCode code, std::string message)
{
	return detail::Unexpected<Error>(Error{code, std::move(message)});
}

// The error of a failed Result, to return as another Result's:
// `if (!opened) return errorOf(opened);`.
template <typename T>
detail::Unexpected<Error> errorOf(const Result<T> &result)
{
	return detail::Unexpected<Error>(result.error());
}

} // namespace ipchub
