#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""ipchub from Python with dbus-python (python3-dbus): a lock held for a critical
section, with the fencing token that proves which holder came last."""

import dbus

bus = dbus.SessionBus()
manager = dbus.Interface(bus.get_object("io.github.ipchub1", "/io/github/ipchub1"),
                         "io.github.ipchub1.Manager")

path = manager.CreateLock("pylock", dbus.Dictionary({}, signature="sv"))
lock_object = bus.get_object("io.github.ipchub1", path)
lock = dbus.Interface(lock_object, "io.github.ipchub1.Lock")
properties = dbus.Interface(lock_object, "org.freedesktop.DBus.Properties")

for round_ in (1, 2):
    # Waits at most one second (the timeout is in microseconds).
    token = lock.Acquire("exclusive", dbus.UInt64(1_000_000))
    print(f"round {round_}: holding {path} exclusively, token {token},",
          "mode", properties.Get("io.github.ipchub1.Lock", "Mode"))
    lock.Release()
print("released, mode", properties.Get("io.github.ipchub1.Lock", "Mode"))

try:
    manager.OpenLock("nosuchlock", dbus.Dictionary({}, signature="sv"))
except dbus.DBusException as error:
    print("open a lock nobody made:", error.get_dbus_name())
