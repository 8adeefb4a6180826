#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipchub from Python with GDBus (python3-gi): a semaphore and a shared-memory object.
Nothing of ipchub's is imported: the bus and the interface XML are the whole API."""

import mmap
import os

from gi.repository import Gio, GLib

BUS_NAME = "io.github.ipchub1"
bus = Gio.bus_get_sync(Gio.BusType.SESSION)


def call(path, interface, method, args=None, reply_type=None, fd_list=None):
    """One method call; returns the reply tuple and, for replies with fds, the fd list."""
    reply, fds = bus.call_with_unix_fd_list_sync(
        BUS_NAME, path, interface, method, args,
        GLib.VariantType(reply_type) if reply_type else None,
        Gio.DBusCallFlags.NONE, -1, fd_list, None)
    return reply.unpack(), fds


def get(path, interface, name):
    (value,), _ = call(path, "org.freedesktop.DBus.Properties", "Get",
                       GLib.Variant("(ss)", (interface, name)), "(v)")
    return value


MANAGER = ("/io/github/ipchub1", "io.github.ipchub1.Manager")
SEMAPHORE = "io.github.ipchub1.Semaphore"

# A semaphore with 2 units. It lives as long as this connection references it.
(path,), _ = call(*MANAGER, "CreateSemaphore",
                  GLib.Variant("(sua{sv})", ("pyjobs", 2, {})), "(o)")
print("created", path)

call(path, SEMAPHORE, "Acquire", GLib.Variant("(ut)", (1, 0)))  # timeout 0: try once
print("acquired 1, value", get(path, SEMAPHORE, "Value"))
(took,), _ = call(path, SEMAPHORE, "TryAcquire", GLib.Variant("(u)", (1,)), "(b)")
print("try-acquired 1 more:", took)

# Nothing left: a wait that may not wait fails with a D-Bus error name to match on.
try:
    call(path, SEMAPHORE, "Acquire", GLib.Variant("(ut)", (1, 0)))
except GLib.Error as error:
    print("acquire with none free:", Gio.DBusError.get_remote_error(error))
call(path, SEMAPHORE, "Release", GLib.Variant("(u)", (2,)))
print("released 2, value", get(path, SEMAPHORE, "Value"))

# A shared-memory object: the reply carries a memfd, mapped here; a second, read-only
# descriptor (Attach) sees the same bytes. The data never crosses the bus.
(path, handle), fds = call(*MANAGER, "CreateSharedMemory",
                           GLib.Variant("(sta{sv})", ("pyshm", 4096, {})), "(oh)")
fd = fds.get(handle)
with mmap.mmap(fd, 4096) as memory:
    memory[:13] = b"hello, ipchub"
os.close(fd)
(handle, size), fds = call(path, "io.github.ipchub1.SharedMemory", "Attach",
                           GLib.Variant("(b)", (False,)), "(ht)")
fd = fds.get(handle)
with mmap.mmap(fd, size, prot=mmap.PROT_READ) as memory:
    print(f"{path} ({size} bytes) reads: {memory[:13].decode()}")
os.close(fd)
