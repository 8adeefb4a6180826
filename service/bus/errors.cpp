#include "errors.hpp"

namespace ipchub::bus {

sdbus::Error toDbusError(const Error &error)
{
	return sdbus::Error(dbusErrorName(error.code), error.message);
}

} // namespace ipchub::bus
