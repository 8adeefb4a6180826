// SPDX-License-Identifier: LGPL-2.1-or-later
#include "common/result.hpp"

#include <array>

namespace ipchub {

namespace {

struct NamedCode {
	ErrorCode code;
	std::string_view name;
};

constexpr std::array kNames{
	NamedCode{ErrorCode::NotFound, "NotFound"},
	NamedCode{ErrorCode::AlreadyExists, "AlreadyExists"},
	NamedCode{ErrorCode::InvalidKey, "InvalidKey"},
	NamedCode{ErrorCode::InvalidArgument, "InvalidArgument"},
	NamedCode{ErrorCode::PermissionDenied, "PermissionDenied"},
	NamedCode{ErrorCode::WouldBlock, "WouldBlock"},
	NamedCode{ErrorCode::Timeout, "Timeout"},
	NamedCode{ErrorCode::LimitExceeded, "LimitExceeded"},
	NamedCode{ErrorCode::NotHeld, "NotHeld"},
	NamedCode{ErrorCode::Cancelled, "Cancelled"},
};

} // namespace

std::string_view errorCodeName(ErrorCode code)
{
	for (const auto &entry : kNames)
		if (entry.code == code)
			return entry.name;
	return "Failed";
}

ErrorCode errorCodeFromDbusName(std::string_view name)
{
	if (!name.starts_with(kErrorPrefix))
		return ErrorCode::Failed;
	name.remove_prefix(kErrorPrefix.size());
	for (const auto &entry : kNames)
		if (entry.name == name)
			return entry.code;
	return ErrorCode::Failed;
}

std::string dbusErrorName(ErrorCode code)
{
	if (code == ErrorCode::Failed)
		return "org.freedesktop.DBus.Error.Failed";
	return std::string(kErrorPrefix) + std::string(errorCodeName(code));
}

} // namespace ipchub
