// SPDX-License-Identifier: LGPL-2.1-or-later
#include "own_scope.hpp"

#include <fcntl.h>

#include "common/flatpak_info.hpp"
#include "common/unique_fd.hpp"

namespace ipchub::detail {

std::string ownScope()
{
	// The same reading of .flatpak-info as ipchubd's, in this process's own root.
	const UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
	if (!root)
		return {};
	auto appId = common::appIdInRoot(root.get());
	return appId ? *appId : std::string();
}

} // namespace ipchub::detail
