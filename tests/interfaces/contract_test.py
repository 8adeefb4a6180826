#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The contract test: what the live ipchubd publishes (gdbus introspect --xml on a live
object of each type) matches interfaces/*.xml member by member: the same methods,
signals and properties, with the same argument names, types and directions, property
types and access. Run with DBUS_SESSION_BUS_ADDRESS on a bus where ipchubd serves
(tests/lib/with-ipchubd.sh).

Usage: contract_test.py INTERFACES_DIR
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

BUS_NAME = "io.github.ipchub1"
MANAGER = "/io/github/ipchub1"
PERSISTENT = "{'persistent': <true>}"


def gdbus(*args):
    return subprocess.run(["gdbus", *args], capture_output=True, text=True, check=True).stdout


def create(method, *args):
    """An object that outlives the gdbus call that made it: persistent."""
    reply = gdbus("call", "--session", "--dest", BUS_NAME, "--object-path", MANAGER,
                  "--method", f"io.github.ipchub1.Manager.{method}", *args)
    # "(objectpath '/io/github/ipchub1/semaphore/contract',)", maybe with more after
    return reply.split("'")[1]


def members(interface):
    """An <interface> element as comparable data."""
    def args(element, default_direction):
        return [(arg.get("name"), arg.get("type"), arg.get("direction", default_direction))
                for arg in element.findall("arg")]

    return {
        "methods": {m.get("name"): args(m, "in") for m in interface.findall("method")},
        "signals": {s.get("name"): args(s, "out") for s in interface.findall("signal")},
        "properties": {p.get("name"): (p.get("type"), p.get("access"))
                       for p in interface.findall("property")},
    }


def compare(name, contract, live):
    problems = []
    for kind in ("methods", "signals", "properties"):
        want, have = contract[kind], live[kind]
        for member in sorted(want.keys() - have.keys()):
            problems.append(f"{name}: {kind[:-1]} {member} is in the XML but not published")
        for member in sorted(have.keys() - want.keys()):
            problems.append(f"{name}: {kind[:-1]} {member} is published but not in the XML")
        for member in sorted(want.keys() & have.keys()):
            if want[member] != have[member]:
                problems.append(f"{name}.{member}: the XML says {want[member]}, ipchubd publishes {have[member]}")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    interfaces_dir = sys.argv[1]
    objects = {
        "io.github.ipchub1.Manager": MANAGER,
        "io.github.ipchub1.Semaphore": create("CreateSemaphore", "contract", "1", PERSISTENT),
        "io.github.ipchub1.SharedMemory": create("CreateSharedMemory", "contract", "4096", PERSISTENT),
        "io.github.ipchub1.Lock": create("CreateLock", "contract", PERSISTENT),
    }
    xml_files = sorted(f for f in os.listdir(interfaces_dir) if f.endswith(".xml"))
    if sorted(f"{name}.xml" for name in objects) != xml_files:
        print(f"the interfaces in {interfaces_dir} are {xml_files}, this test knows {sorted(objects)}",
              file=sys.stderr)
        return 1

    problems, checked = [], 0
    for name, path in objects.items():
        contract = ET.parse(os.path.join(interfaces_dir, f"{name}.xml")).getroot().find(
            f"interface[@name='{name}']")
        live_xml = gdbus("introspect", "--session", "--dest", BUS_NAME, "--object-path", path, "--xml")
        live = ET.fromstring(live_xml).find(f"interface[@name='{name}']")
        if live is None:
            problems.append(f"{path} does not publish {name}")
            continue
        contract_members, live_members = members(contract), members(live)
        problems += compare(name, contract_members, live_members)
        checked += sum(len(v) for v in contract_members.values())

    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {len(objects)} live objects, {checked} members match interfaces/*.xml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
