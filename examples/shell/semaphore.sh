#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# ipchub from the shell with gdbus (libglib2.0-bin) and busctl (systemd).
# Every gdbus call is a connection of its own, and an object goes when the last
# connection referencing it leaves: from a shell, create objects persistent. Units
# acquired by a connection also come back when it leaves, unless return_on_exit is
# false: here the semaphore is a plain counter of jobs, posted and taken across calls.
set -eu

manager() {
	gdbus call --session --dest io.github.ipchub1 --object-path /io/github/ipchub1 \
		--method "io.github.ipchub1.Manager.$@"
}
semaphore() {
	gdbus call --session --dest io.github.ipchub1 --object-path /io/github/ipchub1/semaphore/jobs \
		--method "io.github.ipchub1.Semaphore.$@"
}

manager CreateSemaphore jobs 0 "{'persistent': <true>, 'return_on_exit': <false>}"
semaphore Release 3                     # post three jobs
busctl --user get-property io.github.ipchub1 /io/github/ipchub1/semaphore/jobs \
	io.github.ipchub1.Semaphore Value
semaphore TryAcquire 1                  # take one
busctl --user get-property io.github.ipchub1 /io/github/ipchub1/semaphore/jobs \
	io.github.ipchub1.Semaphore Value Max Key

# An error is the D-Bus error name and a message naming the argument and the limit.
semaphore Acquire 5 0 2>&1 | sed "s/^Error: GDBus.Error://"

busctl --user tree io.github.ipchub1
manager Remove /io/github/ipchub1/semaphore/jobs
