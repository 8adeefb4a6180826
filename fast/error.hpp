// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// The results of the fast objects' operations: tl::expected, as everywhere in ipchub,
// with an error small enough to return from the hot path without an allocation. The
// bus glue turns a code into the contract's error name with errorCode().

#include <cstdint>
#include <string>

#include <tl/expected.hpp>

#include <ipchub/result.hpp>

namespace ipchub::fast {

enum class Errc : uint8_t {
	// A try operation found the word held.
	WouldBlock,
	// The deadline passed while waiting.
	Timeout,
	// The calling thread already holds the lock: waiting would never end.
	Deadlock,
	// The word no longer records the caller: ipchubd took it back (the connection was
	// lost) or another client of the page overwrote it.
	TakenBack,
	// The caller named a unit it was never given (an index out of range).
	NotHeld,
	// No owner id, thread slot or reader slot is free.
	Exhausted,
	// A descriptor offered as a page is not sealed against shrinking, or too small.
	InvalidPage,
	// A system call failed; Error::sysErrno says why.
	System,
};

struct Error {
	Errc code;
	// errno of a failed system call, saved at once; 0 otherwise.
	int sysErrno = 0;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, int sysErrno = 0)
{
	return tl::unexpected<Error>(Error{code, sysErrno});
}

// A sentence for logs and D-Bus error messages.
std::string describe(const Error &error);

// The contract's code for a fast error (one mapping, used by the bus glue).
inline ErrorCode errorCode(Errc code)
{
	switch (code) {
	case Errc::WouldBlock:
		return ErrorCode::WouldBlock;
	case Errc::Timeout:
		return ErrorCode::Timeout;
	case Errc::Deadlock:
		return ErrorCode::InvalidArgument;
	case Errc::TakenBack:
	case Errc::NotHeld:
		return ErrorCode::NotHeld;
	case Errc::Exhausted:
		return ErrorCode::LimitExceeded;
	case Errc::InvalidPage:
		return ErrorCode::InvalidArgument;
	case Errc::System:
		break;
	}
	return ErrorCode::Failed;
}

} // namespace ipchub::fast
