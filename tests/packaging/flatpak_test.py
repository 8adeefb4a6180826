#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Flatpak manifest of the demo client: well-formed, its files exist, its command is
what it installs, and its bus permissions are enough: the demo runs behind an
xdg-dbus-proxy that filters as the manifest's finish-args say, and fails behind one
that does not let it talk to io.github.ipchub1. Run with DBUS_SESSION_BUS_ADDRESS on a
bus where ipchubd serves (tests/lib/with-ipchubd.sh).

Usage: flatpak_test.py MANIFEST PYTHON
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check_manifest(path):
    """The manifest's fields; returns (bus filter arguments, the demo's source file)."""
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    app_id = manifest.get("app-id")
    if f"{app_id}.json" != os.path.basename(path):
        fail(f"app-id {app_id} does not match the file name {os.path.basename(path)}")
    for key in ("runtime", "runtime-version", "sdk", "command", "modules"):
        if not manifest.get(key):
            fail(f"{path}: no {key}")
    finish_args = manifest.get("finish-args", [])
    if "--talk-name=io.github.ipchub1" not in finish_args:
        fail(f"{path}: finish-args lack --talk-name=io.github.ipchub1")
    if "--socket=session-bus" in finish_args:
        fail(f"{path}: --socket=session-bus would give the whole bus, not only ipchubd")
    talk = [arg.split("=", 1)[1] for arg in finish_args if arg.startswith("--talk-name=")]

    installed, demo = {}, None
    for module in manifest["modules"]:
        sources = {}
        for source in module.get("sources", []):
            if source.get("type") in ("file", "dir"):
                source_path = os.path.join(os.path.dirname(path), source["path"])
                if not os.path.exists(source_path):
                    fail(f"{path}: module {module['name']}: {source['path']} does not exist")
                sources[os.path.basename(source_path)] = source_path
        for command in module.get("build-commands", []):
            words = shlex.split(command)
            if words[0] == "install" and words[-1].startswith("/app/bin/"):
                installed[os.path.basename(words[-1])] = sources.get(words[-2])
    demo = installed.get(manifest["command"])
    if not demo:
        fail(f"{path}: no module installs /app/bin/{manifest['command']} from one of its sources")
    return [f"--talk={name}" for name in talk], demo


def run_behind_proxy(filter_args, python, demo, work):
    """The demo with its bus behind xdg-dbus-proxy --filter; returns (status, output)."""
    socket = os.path.join(work, f"proxy-{len(os.listdir(work))}")
    proxy = subprocess.Popen(["xdg-dbus-proxy", os.environ["DBUS_SESSION_BUS_ADDRESS"], socket,
                              "--filter", *filter_args])
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(socket):
            if time.monotonic() > deadline or proxy.poll() is not None:
                fail("xdg-dbus-proxy did not make its socket")
            time.sleep(0.05)
        env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=f"unix:path={socket}")
        result = subprocess.run([python, demo], env=env, capture_output=True, text=True,
                                timeout=30, check=False)
        return result.returncode, result.stdout + result.stderr
    finally:
        proxy.terminate()
        proxy.wait()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    manifest, python = sys.argv[1], sys.argv[2]
    filter_args, demo = check_manifest(manifest)
    with tempfile.TemporaryDirectory(prefix="ipchub-flatpak.") as work:
        status, output = run_behind_proxy(filter_args, python, demo, work)
        if status != 0 or "created /io/github/ipchub1/semaphore/" not in output:
            fail(f"the demo behind a proxy filtered by {filter_args} failed ({status}):\n{output}")
        status, output = run_behind_proxy([], python, demo, work)
        if status == 0:
            fail(f"the demo worked behind a proxy that lets it talk to nobody:\n{output}")
    print(f"ok: {os.path.basename(manifest)} is well-formed; its demo works behind "
          f"xdg-dbus-proxy {' '.join(filter_args)} and not without")
    return 0


if __name__ == "__main__":
    sys.exit(main())
