#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The log of a systemd --user manager started outside a systemd boot, where no
journald runs: listens where the manager and its services send their log (the journal's
stream socket for the services' stdout and stderr, its native socket for the manager's
own messages) and appends each line, with its time and origin, to one file.

Usage: journal.py DIR LOG_FILE   (binds DIR/stdout and DIR/socket)"""

import array
import mmap
import os
import selectors
import socket
import struct
import sys
import time

directory, log_path = sys.argv[1], sys.argv[2]
log = open(log_path, "a", buffering=1)


def emit(origin, text):
    log.write("%.3f %s: %s\n" % (time.time(), origin, text))


def bind(name, kind):
    path = os.path.join(directory, name)
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(path)
    # The manager runs as the test user.
    os.chmod(path, 0o666)
    return sock


def native_fields(data):
    """KEY=VALUE lines, or KEY, a little-endian u64 length and that many bytes."""
    fields, i = {}, 0
    while i < len(data):
        end = data.find(b"\n", i)
        if end < 0:
            break
        line = data[i:end]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = end + 1
        else:
            (size,) = struct.unpack("<Q", data[end + 1:end + 9])
            key, value = line, data[end + 9:end + 9 + size]
            i = end + 9 + size + 1
        fields[key] = value
    return fields


def on_native(sock):
    data, ancillary, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
    # A message too large for a datagram comes as a sealed memfd.
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[:len(payload) - len(payload) % 4])
            for fd in fds:
                try:
                    size = os.fstat(fd).st_size
                    if size:
                        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mapped:
                            data = mapped[:]
                finally:
                    os.close(fd)
    fields = native_fields(data)
    origin = "%s[%s]" % (fields.get(b"SYSLOG_IDENTIFIER", b"?").decode(errors="replace"),
                         fields.get(b"_PID", fields.get(b"SYSLOG_PID", b"")).decode())
    unit = fields.get(b"USER_UNIT") or fields.get(b"UNIT")
    if unit:
        origin += " {%s}" % unit.decode(errors="replace")
    emit(origin, fields.get(b"MESSAGE", b"").decode(errors="replace"))


streams = {}


def on_stream_accept(sock):
    conn, _ = sock.accept()
    streams[conn] = {"buffer": b"", "header": [], "origin": "?"}
    selector.register(conn, selectors.EVENT_READ, on_stream)


def on_stream(conn):
    stream = streams[conn]
    data = conn.recv(65536)
    if not data:
        if stream["buffer"]:
            emit(stream["origin"], stream["buffer"].decode(errors="replace"))
        selector.unregister(conn)
        conn.close()
        del streams[conn]
        return
    stream["buffer"] += data
    while b"\n" in stream["buffer"]:
        line, stream["buffer"] = stream["buffer"].split(b"\n", 1)
        # The stream protocol opens with 7 lines: identifier, unit, priority, ...
        if len(stream["header"]) < 7:
            stream["header"].append(line.decode(errors="replace"))
            if len(stream["header"]) == 7:
                stream["origin"] = "%s {%s}" % (stream["header"][0], stream["header"][1])
            continue
        emit(stream["origin"], line.decode(errors="replace"))


selector = selectors.DefaultSelector()
stream_socket = bind("stdout", socket.SOCK_STREAM)
stream_socket.listen(64)
native_socket = bind("socket", socket.SOCK_DGRAM)
native_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
selector.register(stream_socket, selectors.EVENT_READ, on_stream_accept)
selector.register(native_socket, selectors.EVENT_READ, on_native)
emit("journal.py", "listening in " + directory)
while True:
    for key, _ in selector.select():
        try:
            key.data(key.fileobj)
        except Exception as error:  # one bad message must not end the log
            emit("journal.py", "error: %r" % error)
