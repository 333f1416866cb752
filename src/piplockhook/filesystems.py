"""Which filesystems show our lock to pips on other hosts: the table ``piplockhook check`` reads.

A lock is a ``flock(2)`` on ``<venv>/.lock``. Two processes on one host
prove that it excludes there, never that another host sees it: that depends
on the filesystem and on its mount options, so ``check`` looks the mount up
in ``ROWS``, one row per filesystem kind and option, each with its verdict,
what it means for the user, the fix, and where we know it from ("lab": the
virtual machines of ``.ci/nfs``; "docs": the filesystem's own documentation
or the issue reports cited beside the row).

The mount is read from /proc/mounts (its type and options; the longest mount
point holding the path), and the filesystem's ``statfs`` magic stands in for
a type /proc/mounts does not give or we do not know. Linux only: on other
systems there is neither, the table is not consulted, and ``check`` says
nothing of other hosts. Only the command line imports this module (ctypes
included), never a pip process (tests/support/layers.py: PIP_PROCESS).
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import NamedTuple

# The verdicts.
COHERENT = "coherent"  # pips on other hosts see the lock: check passes
ONE_HOST = "one host"  # a local disk: only this host reaches it, nothing to say
NOT_ACROSS_HOSTS = "not across hosts"  # pips elsewhere are not excluded (or none is): check fails
UNKNOWN = "unknown"  # we cannot tell: check warns

LAB = "lab"  # measured between two hosts in .ci/nfs (tests/nfs)
DOCS = "docs"  # from the filesystem's documentation or the reports cited beside the row

ELSEWHERE = (
    "set PIPLOCKHOOK_LOCKFILE to a file on a filesystem where `piplockhook check` passes, "
    "the same file for every pip of this environment"
)


class Row(NamedTuple):
    kind: str  # a KINDS value
    option: str | None  # the mount option that selects this row; None: the kind's row without one
    verdict: str
    what: str  # the mount, as a line names it ("NFS mounted with nolock")
    says: str  # what that means for pips here and elsewhere
    fix: str  # what the user can do; "" where nothing needs doing
    source: str  # LAB or DOCS
    note: str = ""  # said as a warning on a mount that passes


# The whole policy, one row per filesystem kind (and option), first match wins.
# Sources: nfs(5) for local_lock and nolock; Lustre's mount.lustre(8) and the
# Linux staging README ("noflock ... will get ENOSYS"), uv#9050 (os error 38 on
# Slurm); GPFS: ibm-granite/granite.build#330 (two nodes held one flock at once,
# fcntl locks excluded) and versity/versitygw#2351; CIFS: Linux 5.5's "cifs: add
# support for flock" (d0677992d2af: a flock is sent as a byte-range lock on the
# whole file), mount.cifs(8) for nobrl/nolock; FUSE: the kernel serves locks
# locally unless the filesystem implements them (fuser's and libfuse's docs).
ROWS: tuple[Row, ...] = (
    # NFS: the client turns a flock into the server's byte-range lock (NLM on v3).
    Row(
        "nfs",
        "local_lock=all",
        NOT_ACROSS_HOSTS,
        "NFS mounted with local_lock=all",
        "flock locks stay on this host, so pips on other hosts are not excluded",
        "mount it without that option",
        LAB,
    ),
    Row(
        "nfs",
        "local_lock=flock",
        NOT_ACROSS_HOSTS,
        "NFS mounted with local_lock=flock",
        "flock locks stay on this host, so pips on other hosts are not excluded",
        "mount it without that option",
        DOCS,
    ),
    Row(
        "nfs",
        "nolock",
        NOT_ACROSS_HOSTS,
        "NFS mounted with nolock",
        "flock locks stay on this host, so pips on other hosts are not excluded",
        "mount it without that option",
        DOCS,
    ),
    Row(
        "nfs",
        None,
        COHERENT,
        "NFS",
        "the lock is the server's, seen by every client that locks through it",
        "",
        LAB,  # NFSv4.2, and NFSv3 through NLM
        note="NFS; flock goes through the server's byte-range locks, so other hosts see it only if they use the same server locking",
    ),
    # GPFS (IBM Storage Scale): flock is node-local, fcntl byte-range locks are
    # cluster-wide; the lock takes both (an OFD lock beside the flock, lock/_posix.py).
    Row(
        "gpfs",
        None,
        COHERENT,
        "GPFS (IBM Storage Scale)",
        "other nodes see the lock through its fcntl (OFD) part, which GPFS keeps cluster-wide",
        "",
        DOCS,
        note="GPFS; other nodes see the lock through its fcntl part only (GPFS keeps flock on the node, so "
        "uv there does not exclude pips on other nodes); not yet proven on two GPFS nodes",
    ),
    # Lustre: the client's mount option decides; /proc/mounts names flock or
    # localflock when set, and neither means flock is off (the call fails).
    Row("lustre", "flock", COHERENT, "Lustre mounted with flock", "flock locks are coherent across clients", "", DOCS),
    Row(
        "lustre",
        "localflock",
        NOT_ACROSS_HOSTS,
        "Lustre mounted with localflock",
        "flock locks stay on this client, so pips on other clients are not excluded",
        "mount it with -o flock",
        DOCS,
    ),
    Row(
        "lustre",
        None,
        NOT_ACROSS_HOSTS,
        "Lustre mounted without flock",
        "flock(2) fails there (noflock: ENOSYS) or stays on this client (localflock), "
        "so pips on other clients are not excluded",
        "mount it with -o flock",
        DOCS,
    ),
    # SMB: since Linux 5.5 the cifs client sends a flock to the server as a
    # byte-range lock on the whole file; nobrl (or its synonym nolock) keeps it here.
    Row(
        "smb",
        "nobrl",
        NOT_ACROSS_HOSTS,
        "SMB mounted with nobrl",
        "locks are not sent to the server, so pips on other clients are not excluded",
        "mount it without that option",
        DOCS,
    ),
    Row(
        "smb",
        "nolock",
        NOT_ACROSS_HOSTS,
        "SMB mounted with nolock",
        "locks are not sent to the server, so pips on other clients are not excluded",
        "mount it without that option",
        DOCS,
    ),
    Row(
        "smb",
        None,
        COHERENT,
        "SMB",
        "the cifs client (Linux 5.5 and later) sends a flock to the server as a byte-range lock on the whole file",
        "",
        DOCS,
    ),
    # 9p and virtiofs share a host's directory with its guests. 9p sends a
    # flock as a POSIX lock that QEMU's server grants without locking anything
    # on the host; virtiofsd keeps flocks in the guest unless started with
    # flock support, which a guest cannot see. Either way other guests and the
    # host itself are not excluded: failing says so before two pips collide.
    Row(
        "9p",
        None,
        NOT_ACROSS_HOSTS,
        "a 9p share",
        "its server need not lock anything on the host (QEMU's grants every lock), "
        "so pips on the host or in other guests are not excluded",
        "run this environment's pips on one machine, or " + ELSEWHERE,
        DOCS,
    ),
    Row(
        "virtiofs",
        None,
        NOT_ACROSS_HOSTS,
        "a virtiofs share",
        "flock locks stay in this guest unless virtiofsd was started with flock support, "
        "so pips on the host or in other guests are not excluded",
        "run this environment's pips on one machine, or " + ELSEWHERE,
        DOCS,
    ),
    # FUSE: the kernel keeps flocks on this host unless the filesystem
    # implements locking. sshfs cannot (SFTP has no locks): it fails. Others
    # (a cluster filesystem's FUSE client may lock across hosts) we cannot
    # tell from here, so they warn rather than fail a mount that may be right.
    Row(
        "sshfs",
        None,
        NOT_ACROSS_HOSTS,
        "sshfs",
        "SFTP has no locks, so flock locks stay on this host and pips on other hosts "
        "(and on the server) are not excluded",
        "run this environment's pips on one host, or " + ELSEWHERE,
        DOCS,
    ),
    Row(
        "fuse",
        None,
        UNKNOWN,
        "a FUSE filesystem",
        "flock locks stay on this host unless the filesystem implements locking across hosts",
        "if pips on other hosts use this environment, check that it does, or " + ELSEWHERE,
        DOCS,
    ),
    Row("local", None, ONE_HOST, "a local disk", "only this host reaches it", "", DOCS),
    Row(
        "unknown",
        None,
        UNKNOWN,
        "a filesystem piplockhook does not know",
        "whether pips on other hosts see the lock depends on it",
        "if pips on other hosts use this environment, " + ELSEWHERE,
        DOCS,
    ),
)

# A /proc/mounts type to its kind in ROWS (``fuse.NAME`` not listed here: "fuse").
KINDS = {
    "nfs": "nfs",
    "nfs4": "nfs",
    "gpfs": "gpfs",
    "lustre": "lustre",
    "cifs": "smb",
    "smb3": "smb",
    "smbfs": "smb",
    "9p": "9p",
    "virtiofs": "virtiofs",
    "fuse.sshfs": "sshfs",
    "fuse": "fuse",
    # a block device on this host read through FUSE (ntfs-3g, exfat-fuse): its
    # statfs magic is FUSE's, which would say less than the type does
    "fuseblk": "local",
    **dict.fromkeys(
        ("ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "vfat", "exfat", "ntfs", "ntfs3"),
        "local",
    ),
    **dict.fromkeys(("tmpfs", "ramfs", "overlay", "squashfs", "bcachefs", "hfsplus", "apfs"), "local"),
}

# statfs(2)'s f_type to a kind (linux/magic.h, and each filesystem's source):
# read where /proc/mounts is missing or names a type not in KINDS.
MAGICS = {
    0x6969: "nfs",  # NFS_SUPER_MAGIC
    0x47504653: "gpfs",  # "GPFS"
    0x0BD00BD0: "lustre",  # LL_SUPER_MAGIC
    0xFF534D42: "smb",  # CIFS_SUPER_MAGIC
    0xFE534D42: "smb",  # SMB2_SUPER_MAGIC
    0x517B: "smb",  # SMB_SUPER_MAGIC
    0x01021997: "9p",  # V9FS_MAGIC
    0x65735546: "fuse",  # FUSE_SUPER_MAGIC: sshfs, virtiofs and every other FUSE filesystem
    0xEF53: "local",  # EXT2/3/4_SUPER_MAGIC
    0x58465342: "local",  # XFS_SUPER_MAGIC
    0x9123683E: "local",  # BTRFS_SUPER_MAGIC
    0x2FC12FC1: "local",  # ZFS
    0xF2F52010: "local",  # F2FS_SUPER_MAGIC
    0x01021994: "local",  # TMPFS_MAGIC
    0x858458F6: "local",  # RAMFS_MAGIC
    0x794C7630: "local",  # OVERLAYFS_SUPER_MAGIC
    0x4D44: "local",  # MSDOS_SUPER_MAGIC (vfat)
    0x2011BAB0: "local",  # EXFAT_SUPER_MAGIC
}


class Mount(NamedTuple):
    point: str
    fstype: str  # as /proc/mounts names it; "" where only the statfs magic was read
    options: str  # "" where unknown


class Verdict(NamedTuple):
    mount: Mount
    row: Row

    @property
    def fails(self) -> bool:
        return self.row.verdict == NOT_ACROSS_HOSTS

    def failure(self) -> str:
        """Why check fails here, the fix in brackets: a NOT_ACROSS_HOSTS row."""
        return f"{self.mount.point} is {self.row.what}: {self.row.says} ({self.row.fix})"

    def warning(self) -> str:
        """The WARNING of a mount that passes ("" for none): where we cannot tell, or a row's note."""
        where = f"{self.mount.point} ({self.mount.fstype or 'type unknown'}, {self.mount.options or 'options unknown'})"
        if self.row.verdict == UNKNOWN:
            return f"{where}: {self.row.what}: {self.row.says}"
        return f"{where}: {self.row.note}" if self.row.note else ""

    def hint(self) -> str:
        """The fix said after a warning ("" for none)."""
        return self.row.fix if self.row.verdict == UNKNOWN else ""


def unescape(field: str) -> str:
    r"""A /proc/mounts field as a path: the kernel writes space, tab, newline and
    backslash as octal escapes (``\040``, ``\011``, ``\012``, ``\134``)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        octal = field[i + 1 : i + 4]
        if field[i] == "\\" and len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_in(mounts_text: str, path: str) -> Mount | None:
    """The entry of /proc/mounts text holding the absolute, resolved `path`:
    the longest mount point wins (the last one mounted, where one is mounted twice)."""
    best = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = unescape(fields[1])
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best.point):
                best = Mount(point, fields[2], fields[3])
    return best


def mount_of(path: str, mounts: str = "/proc/mounts") -> Mount | None:
    """The /proc/mounts entry holding `path` (Linux); None where there is none to read."""
    try:
        with open(mounts, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError:
        return None
    return mount_in(text, os.path.realpath(path))


class _StatFs(ctypes.Structure):
    # struct statfs begins with f_type (__fsword_t: a long on Linux's common
    # ABIs); the rest is room for the fields after it.
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 256)]


def statfs_magic(path: str) -> int | None:
    """statfs(2)'s f_type for `path` (Linux); None elsewhere or where the call fails."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        buf = _StatFs()
        if libc.statfs(os.fsencode(path), ctypes.byref(buf)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return int(buf.f_type) & 0xFFFFFFFF  # a magic is 32 bits; c_long may read it negative


def kind_of(fstype: str, magic: int | None = None) -> str:
    """The ROWS kind of a mount: by its /proc/mounts type, else by its statfs magic."""
    if fstype in KINDS:
        return KINDS[fstype]
    if fstype.startswith("fuse."):
        return "fuse"
    if magic is not None and magic in MAGICS:
        return MAGICS[magic]
    return "unknown"


def row_for(kind: str, options: str | None) -> Row:
    """The first row of `kind` whose option the mount has (None: options unknown)."""
    rows = [row for row in ROWS if row.kind == kind] or [row for row in ROWS if row.kind == "unknown"]
    if options is None and any(row.option for row in rows):
        return _OPTIONS_UNKNOWN._replace(what=rows[-1].what.split(" mounted")[0])  # "NFS", "Lustre", "SMB"
    given = set((options or "").split(","))
    return next(row for row in rows if row.option is None or row.option in given)


# A kind whose options decide, where they could not be read (no /proc/mounts).
_OPTIONS_UNKNOWN = Row(
    "",
    None,
    UNKNOWN,
    "",
    "its mount options could not be read (no /proc/mounts), and they decide whether pips on other hosts see the lock",
    ELSEWHERE,
    DOCS,
)


def verdict_for(mount: Mount, magic: int | None = None) -> Verdict:
    """What holds for pips on other hosts on `mount`: its /proc/mounts type and
    options, else (type "", options unknown) its statfs `magic`."""
    kind = kind_of(mount.fstype, magic)
    options = mount.options if mount.fstype else None
    return Verdict(mount, row_for(kind, options))


def verdict_at(path: str) -> Verdict | None:
    """The verdict for the filesystem holding `path`; None where it cannot be
    read, and on every system but Linux (no /proc/mounts, no table)."""
    if sys.platform != "linux":
        return None
    mount = mount_of(path)
    magic = None
    if mount is None or mount.fstype not in KINDS:
        magic = statfs_magic(path)
    if mount is None:
        if magic is None:
            return None
        mount = Mount(os.path.realpath(path), "", "")
    return verdict_for(mount, magic)
