// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// Result, Error and ErrorCode for the service and ipchubctl. The library's public
// header is their one definition: the public API returns them, its installed headers
// cannot include this folder, and a second set converted at the edge would be a second
// copy of each rule to keep in step. The code-to-name table is common/error_names.cpp.
#include <ipchub/result.hpp>
