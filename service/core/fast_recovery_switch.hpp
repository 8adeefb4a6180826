// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

namespace ipchub::core {

// For tests only: whether IPCHUB_TEST_NO_FAST_RECOVERY was set (to anything but "" or
// "0") when ipchubd started. Then the words of a connection that leaves are left as
// they are, which breaks every fast object it held: the chaos test's proof that its run
// can fail. Not documented for users.
bool fastRecoveryDisabled();

} // namespace ipchub::core
