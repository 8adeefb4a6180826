#pragma once

#include <ipchub/unique_fd.hpp>

namespace ipchub::core {

using ipchub::UniqueFd;

} // namespace ipchub::core
