#!/usr/bin/env python3
"""console_pin.py PIN COMMAND [ARGS...]: runs COMMAND (a Windows program
under Wine) on a pseudo-terminal, which Wine makes its console, and types
PIN and Enter once it asks for the PIN. Prints what the terminal showed,
as text without its cursor escapes, and exits with COMMAND's status
(124 when it takes over 120 s). The caller checks the PIN is not in it."""
import os
import pty
import re
import select
import sys
import time


def plain(shown):
    """The text: a cursor moved right is spaces (Wine draws them so)."""
    shown = re.sub(rb"\x1b\[(\d*)C", lambda m: b" " * int(m.group(1) or 1), shown)
    return re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", shown)


def main():
    pin, cmd = sys.argv[1].encode(), sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    shown, typed, start = b"", False, time.time()
    while time.time() - start < 120:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:         # the terminal closed: the program ended
                break
            if not data:
                break
            shown += data
        if not typed and b"(PIN):" in plain(shown):
            time.sleep(0.3)
            os.write(fd, pin + b"\r")
            typed = True
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stdout.buffer.write(plain(shown))
        sys.exit(124)
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(plain(shown))
    sys.exit(os.waitstatus_to_exitcode(status))


main()
