"""Runs on Windows (python.exe under Wine): holds or probes a lock file with
LockFileEx on its first byte, as piplockhook does, written apart from
piplockhook's own _windows.py so that the tests do not check it against itself.

    python.exe winholder.py PATH          commands on stdin, one a line: shared,
                                          exclusive (answer "held MODE"), release
                                          (answer "released"), quit
    python.exe winholder.py PATH probe    print how another process holds PATH
                                          now: free, shared or exclusive
"""

import ctypes
import msvcrt
import os
import sys
from ctypes import wintypes

FAIL_IMMEDIATELY, EXCLUSIVE = 0x1, 0x2


class OVERLAPPED(ctypes.Structure):
    _fields_ = [
        ("Internal", ctypes.c_void_p),
        ("InternalHigh", ctypes.c_void_p),
        ("Offset", wintypes.DWORD),
        ("OffsetHigh", wintypes.DWORD),
        ("hEvent", wintypes.HANDLE),
    ]


kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
kernel32.LockFileEx.argtypes = [
    wintypes.HANDLE,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(OVERLAPPED),
]
kernel32.UnlockFileEx.argtypes = [
    wintypes.HANDLE,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(OVERLAPPED),
]


def handle(path):
    return msvcrt.get_osfhandle(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOINHERIT))


def lock(h, flags):
    return bool(kernel32.LockFileEx(h, flags, 0, 1, 0, ctypes.byref(OVERLAPPED())))


def unlock(h):
    kernel32.UnlockFileEx(h, 0, 1, 0, ctypes.byref(OVERLAPPED()))


def probe(path):
    if not os.path.exists(path):
        return "free"
    h = handle(path)
    if lock(h, FAIL_IMMEDIATELY | EXCLUSIVE):
        unlock(h)
        return "free"
    if lock(h, FAIL_IMMEDIATELY):
        unlock(h)
        return "shared"
    return "exclusive"


def main(path):
    h = handle(path)
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command in ("shared", "exclusive"):
            lock(h, EXCLUSIVE if command == "exclusive" else 0)  # blocks until held
            print("held", command, flush=True)
        elif command == "release":
            unlock(h)
            print("released", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    if sys.argv[2:] == ["probe"]:
        print(probe(sys.argv[1]))
    else:
        main(sys.argv[1])
