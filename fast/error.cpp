// SPDX-License-Identifier: LGPL-2.1-or-later
#include "error.hpp"

#include <cstring>

namespace ipchub::fast {

std::string describe(const Error &error)
{
	switch (error.code) {
	case Errc::WouldBlock:
		return "the object is held";
	case Errc::Timeout:
		return "the timeout passed before the object was free";
	case Errc::Deadlock:
		return "the calling thread already holds this lock";
	case Errc::TakenBack:
		return "the hold was taken back (the connection was lost)";
	case Errc::NotHeld:
		return "the caller does not hold this unit";
	case Errc::Exhausted:
		return "no free owner id, thread slot or reader slot";
	case Errc::InvalidPage:
		return "the descriptor is not a sealed page of the expected size";
	case Errc::System:
		break;
	}
	return std::string("system call failed: ") + std::strerror(error.sysErrno);
}

} // namespace ipchub::fast
