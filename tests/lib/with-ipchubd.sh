#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# with-ipchubd.sh IPCHUBD COMMAND...: runs COMMAND with DBUS_SESSION_BUS_ADDRESS on a
# private dbus-daemon where IPCHUBD serves; exits with COMMAND's status.
source "$(dirname "$0")/bus.sh"

(($# >= 2)) || fail "usage: with-ipchubd.sh IPCHUBD COMMAND..."
startBus
startIpchubd "$1"
shift
"$@"
