#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# What a GLib application sees of an ipchub object: a plain Gio.DBusProxy, which reads
# every property once (GetAll) and then lives on PropertiesChanged. Prints the proxy's
# cached value of each named property, once at the start and again whenever a
# PropertiesChanged changes it: "NAME VALUE SECONDS" (VALUE as GVariant text, "-" once invalidated; SECONDS
# from CLOCK_MONOTONIC, the clock of std::chrono::steady_clock).
# Usage: gio_property_cache.py PATH INTERFACE NAME...

import sys
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402


def main():
    path, interface, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    proxy = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.NONE, None,
                                   "io.github.ipchub1", path, interface, None)

    shown = {}

    def show(name):
        value = proxy.get_cached_property(name)
        text = value.print_(False) if value is not None else "-"
        # A signal carries every changing property of the object; only a new value
        # is a change of this one.
        if shown.get(name) == text:
            return
        shown[name] = text
        print(name, text, "%.6f" % time.clock_gettime(time.CLOCK_MONOTONIC), flush=True)

    def changed(_proxy, changed_properties, invalidated):
        for name in names:
            if name in changed_properties.keys() or name in invalidated:
                show(name)

    proxy.connect("g-properties-changed", changed)
    for name in names:
        show(name)
    GLib.MainLoop().run()


main()
