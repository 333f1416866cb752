"""LockFileEx: shared/exclusive byte-range lock on one byte of the file (the first, as uv's
whole-file lock overlaps; a holder file's lies past its text, which Windows' mandatory
locks would otherwise make unreadable)."""

from __future__ import annotations

import sys

assert sys.platform == "win32"  # mypy checks this module only with --platform win32

import ctypes  # noqa: E402
import msvcrt  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from ctypes import wintypes  # noqa: E402

_LOCKFILE_FAIL_IMMEDIATELY = 0x1
_LOCKFILE_EXCLUSIVE_LOCK = 0x2
_ERROR_LOCK_VIOLATION = 33
_ERROR_IO_PENDING = 997


class _OVERLAPPED(ctypes.Structure):
    _fields_ = [
        ("Internal", ctypes.c_void_p),
        ("InternalHigh", ctypes.c_void_p),
        ("Offset", wintypes.DWORD),
        ("OffsetHigh", wintypes.DWORD),
        ("hEvent", wintypes.HANDLE),
    ]


_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_LockFileEx = _kernel32.LockFileEx
_LockFileEx.argtypes = [
    wintypes.HANDLE,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(_OVERLAPPED),
]
_LockFileEx.restype = wintypes.BOOL
_UnlockFileEx = _kernel32.UnlockFileEx
_UnlockFileEx.argtypes = [
    wintypes.HANDLE,
    wintypes.DWORD,
    wintypes.DWORD,
    wintypes.DWORD,
    ctypes.POINTER(_OVERLAPPED),
]
_UnlockFileEx.restype = wintypes.BOOL
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_OpenProcess = _kernel32.OpenProcess
_OpenProcess.argtypes = [wintypes.DWORD, wintypes.BOOL, wintypes.DWORD]
_OpenProcess.restype = wintypes.HANDLE
_GetExitCodeProcess = _kernel32.GetExitCodeProcess
_GetExitCodeProcess.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD)]
_GetExitCodeProcess.restype = wintypes.BOOL
_CloseHandle = _kernel32.CloseHandle
_CloseHandle.argtypes = [wintypes.HANDLE]
_CloseHandle.restype = wintypes.BOOL


def open_lock_file(path: str, create: bool, public: bool = False) -> int:
    # `public` (uv's lock in a shared temp dir) is Unix only: uvlock.py names no such file here.
    flags = os.O_RDWR | os.O_NOINHERIT | (os.O_CREAT if create else 0)
    try:
        return os.open(path, flags, 0o666)
    except PermissionError as denied:
        try:
            return os.open(path, os.O_RDONLY | os.O_NOINHERIT)
        except FileNotFoundError:
            raise denied from None


def read_only(fd: int) -> bool:
    return False  # only NFSv4 flock cares (see _posix.read_only)


def _at(offset: int) -> _OVERLAPPED:
    return _OVERLAPPED(Offset=offset & 0xFFFFFFFF, OffsetHigh=offset >> 32)


def _call(fd: int, flags: int, at: int) -> bool:
    ok = _LockFileEx(msvcrt.get_osfhandle(fd), flags, 0, 1, 0, ctypes.byref(_at(at)))
    if ok:
        return True
    if ctypes.get_last_error() in (_ERROR_LOCK_VIOLATION, _ERROR_IO_PENDING):
        return False
    raise ctypes.WinError(ctypes.get_last_error())


def try_lock(fd: int, exclusive: bool, at: int = 0) -> bool:
    return _call(fd, _LOCKFILE_FAIL_IMMEDIATELY | (_LOCKFILE_EXCLUSIVE_LOCK if exclusive else 0), at)


def lock(fd: int, exclusive: bool) -> None:
    # Poll rather than block, so that Ctrl-C still reaches Python.
    while not try_lock(fd, exclusive):
        time.sleep(0.02)


def unlock(fd: int, at: int = 0) -> None:
    _UnlockFileEx(msvcrt.get_osfhandle(fd), 0, 1, 0, ctypes.byref(_at(at)))


def process_alive(pid: int) -> bool:
    """Is process `pid` running (os.kill(pid, 0) would terminate it here)?"""
    handle = _OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = wintypes.DWORD()
        return bool(_GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == _STILL_ACTIVE
    finally:
        _CloseHandle(handle)
