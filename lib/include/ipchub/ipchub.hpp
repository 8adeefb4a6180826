// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

// libipchub: named semaphores, shared memory and locks of the ipchubd session service.

#include <ipchub/client.hpp>
#include <ipchub/lock.hpp>
#include <ipchub/object_status.hpp>
#include <ipchub/pending_wait.hpp>
#include <ipchub/result.hpp>
#include <ipchub/semaphore.hpp>
#include <ipchub/shared_memory.hpp>
#include <ipchub/span.hpp>
#include <ipchub/subscription.hpp>
#include <ipchub/timeout.hpp>
#include <ipchub/watch.hpp>
