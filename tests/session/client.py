#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A client of ipchubd on the session bus, for the session tests (a Gio connection, as
a GLib application would make):

  client.py create-shared-memory KEY SIZE  a persistent shared-memory object filled with KEY's bytes; on a
                                     D-Bus error prints "ERROR NAME: MESSAGE", exits 3
  client.py check-shared-memory KEY SIZE   whether the shared-memory object holds KEY's bytes
  client.py create-shared-memories PREFIX COUNT SIZE   COUNT of them, keys PREFIX0, PREFIX1...
  client.py check-shared-memories PREFIX COUNT SIZE    and whether they all came back
  client.py remove-shared-memories PREFIX COUNT        and Manager.Remove them
  client.py hold-lock KEY            takes the persistent lock KEY, prints its token and
                                     stays on the bus, holding it, until killed

A shared-memory object's bytes are SHA-256 of its key, repeated: each shared-memory object its own content."""

import hashlib
import mmap
import os
import sys
import time

from gi.repository import Gio, GLib

BUS_NAME = "io.github.ipchub1"
MANAGER = "/io/github/ipchub1"
TIMEOUT_MS = 20000


def call(bus, path, interface, method, args, reply_type, fds=None):
    return bus.call_with_unix_fd_list_sync(
        BUS_NAME, path, interface, method, args, GLib.VariantType(reply_type),
        Gio.DBusCallFlags.NONE, TIMEOUT_MS, fds, None)


def content(key, size):
    digest = hashlib.sha256(key.encode()).digest()
    return (digest * (size // len(digest) + 1))[:size]


def create_shared_memory(bus, key, size, quiet=False):
    try:
        reply, fds = call(bus, MANAGER, BUS_NAME + ".Manager", "CreateSharedMemory",
                          GLib.Variant("(sta{sv})", (key, size, {"persistent": GLib.Variant("b", True)})),
                          "(oh)")
    except GLib.Error as error:
        name = Gio.DBusError.get_remote_error(error)
        message = error.message.removeprefix("GDBus.Error:%s: " % name)
        print("ERROR %s: %s" % (name, message))
        return 3
    path, index = reply.unpack()
    fd = fds.get(index)
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as mapped:
        mapped[:] = content(key, size)
    os.close(fd)
    if not quiet:
        print(path)
    return 0


def check_shared_memory(bus, key, size):
    (path,) = call(bus, MANAGER, BUS_NAME + ".Manager", "OpenSharedMemory",
                   GLib.Variant("(sa{sv})", (key, {})), "(o)")[0].unpack()
    reply, fds = call(bus, path, BUS_NAME + ".SharedMemory", "Attach", GLib.Variant("(b)", (False,)), "(ht)")
    index, actual_size = reply.unpack()
    if actual_size != size:
        print("shared-memory object %s is %d bytes, not %d" % (key, actual_size, size))
        return 1
    fd = fds.get(index)
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as mapped:
        data = mapped[:]
    os.close(fd)
    if data != content(key, size):
        first = next(i for i in range(size) if data[i] != content(key, size)[i])
        print("shared-memory object %s differs from what was written, first at byte %d" % (key, first))
        return 1
    return 0


def remove_shared_memory(bus, key):
    (path,) = call(bus, MANAGER, BUS_NAME + ".Manager", "OpenSharedMemory",
                   GLib.Variant("(sa{sv})", (key, {})), "(o)")[0].unpack()
    call(bus, MANAGER, BUS_NAME + ".Manager", "Remove", GLib.Variant("(o)", (path,)), "()")
    return 0


def each(prefix, count, action):
    for i in range(count):
        status = action(prefix + str(i))
        if status != 0:
            return status
    return 0


def hold_lock(bus, key):
    (path,) = call(bus, MANAGER, BUS_NAME + ".Manager", "CreateLock",
                   GLib.Variant("(sa{sv})", (key, {"open_existing": GLib.Variant("b", True),
                                                   "persistent": GLib.Variant("b", True)})),
                   "(o)")[0].unpack()
    (token,) = call(bus, path, BUS_NAME + ".Lock", "Acquire",
                    GLib.Variant("(st)", ("exclusive", 10 * 1000 * 1000)), "(t)")[0].unpack()
    print(token, flush=True)
    # Holding: the grant lasts while this connection is on the bus.
    while True:
        time.sleep(3600)


def main():
    command, key = sys.argv[1], sys.argv[2]
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    if command == "create-shared-memory":
        return create_shared_memory(bus, key, int(sys.argv[3]))
    if command == "check-shared-memory":
        return check_shared_memory(bus, key, int(sys.argv[3]))
    if command == "create-shared-memories":
        return each(key, int(sys.argv[3]), lambda k: create_shared_memory(bus, k, int(sys.argv[4]), quiet=True))
    if command == "check-shared-memories":
        return each(key, int(sys.argv[3]), lambda k: check_shared_memory(bus, k, int(sys.argv[4])))
    if command == "remove-shared-memories":
        return each(key, int(sys.argv[3]), lambda k: remove_shared_memory(bus, k))
    if command == "hold-lock":
        return hold_lock(bus, key)
    print("unknown command " + command, file=sys.stderr)
    return 2


sys.exit(main())
