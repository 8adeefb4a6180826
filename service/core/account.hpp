// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <cstdint>
#include <string>

namespace ipchub::core {

// Whose budget a connection's use counts against across connections: a user's host
// connections share one budget (appId ""), each sandboxed app id of that user has its
// own, so an app cannot use up the host's or another app's.
struct Account {
	uint32_t uid = 0;
	std::string appId;

	bool host() const { return appId.empty(); }
	auto operator<=>(const Account &) const = default;
};

// "uid 1000" or "app org.example.App": for error messages.
inline std::string describe(const Account &account)
{
	return account.host() ? "uid " + std::to_string(account.uid) : "app " + account.appId;
}

} // namespace ipchub::core
