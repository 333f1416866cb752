"""Which mounts show our lock to pips on other hosts (filesystems.py), and what
`piplockhook check` says on each: captured /proc/mounts lines and statfs magic
values, no real mount. The lab (tests/nfs) proves the NFS rows between hosts."""

import os
import sys
import time

import pytest

from piplockhook import filesystems
from piplockhook.cli import check as check_command
from piplockhook.filesystems import (
    COHERENT,
    DOCS,
    LAB,
    NOT_ACROSS_HOSTS,
    ONE_HOST,
    ROWS,
    UNKNOWN,
    Mount,
    kind_of,
    mount_in,
    unescape,
    verdict_for,
)
from piplockhook.locations import why_unlockable

# -- captured /proc/mounts lines, one per kind (and option)

MOUNTS = {
    # .ci/nfs's clients (Debian bookworm, kernel 6.1)
    "nfs4": "plh-server:/export /nfs nfs4 rw,relatime,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,"
    "proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.2.15,local_lock=none,addr=10.0.2.2 0 0",
    "nfs3": "plh-server:/export /nfs nfs rw,relatime,vers=3,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,"
    "timeo=600,retrans=2,sec=sys,mountaddr=10.0.2.2,mountvers=3,mountport=20048,mountproto=udp,local_lock=none,"
    "addr=10.0.2.2 0 0",
    "nfs3 local_lock=all": "plh-server:/export /nfs nfs rw,relatime,vers=3,rsize=1048576,wsize=1048576,namlen=255,"
    "hard,nolock,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.0.2.2,mountvers=3,mountport=20048,"
    "mountproto=udp,local_lock=all,addr=10.0.2.2 0 0",
    "nfs3 local_lock=flock": "srv:/home /nfs nfs rw,vers=3,hard,proto=tcp,local_lock=flock,addr=10.0.0.2 0 0",
    "nfs3 nolock": "srv:/home /nfs nfs rw,vers=3,hard,nolock,proto=tcp,addr=10.0.0.2 0 0",
    "gpfs": "gpfs1 /nfs gpfs rw,relatime 0 0",
    "lustre flock": "10.0.0.1@o2ib:/scratch /nfs lustre rw,flock,lazystatfs,encrypt 0 0",
    "lustre localflock": "10.0.0.1@o2ib:/scratch /nfs lustre rw,localflock,lazystatfs 0 0",
    "lustre noflock": "10.0.0.1@o2ib:/scratch /nfs lustre rw,lazystatfs 0 0",  # noflock: neither is shown
    "cifs": "//srv/share /nfs cifs rw,relatime,vers=3.1.1,cache=strict,username=u,uid=1000,noforceuid,gid=1000,"
    "noforcegid,addr=10.0.0.5,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rsize=4194304,"
    "wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1,closetimeo=1 0 0",
    "cifs nobrl": "//srv/share /nfs cifs rw,relatime,vers=3.1.1,cache=strict,nobrl,soft,nounix,serverino 0 0",
    "smb3": "//srv/share /nfs smb3 rw,relatime,vers=3.1.1,cache=strict 0 0",
    "9p": "hostshare /nfs 9p rw,relatime,access=client,trans=virtio 0 0",
    "virtiofs": "myfs /nfs virtiofs rw,relatime 0 0",
    "sshfs": "user@host:/home/user /nfs fuse.sshfs rw,nosuid,nodev,relatime,user_id=1000,group_id=1000 0 0",
    "rclone": "gdrive: /nfs fuse.rclone rw,nosuid,nodev,relatime,user_id=1000,group_id=1000 0 0",
    "fuseblk": "/dev/sdb1 /nfs fuseblk rw,nosuid,nodev,relatime,user_id=0,group_id=0,allow_other,blksize=4096 0 0",
    "ext4": "/dev/vda /nfs ext4 rw,relatime,discard 0 0",
    "xfs": "/dev/sda2 /nfs xfs rw,relatime,attr2,inode64,logbufs=8,logbsize=32k,noquota 0 0",
    "btrfs": "/dev/nvme0n1p3 /nfs btrfs rw,relatime,ssd,space_cache=v2,subvolid=256,subvol=/@home 0 0",
    "tmpfs": "tmpfs /nfs tmpfs rw,nosuid,nodev,size=8G 0 0",
    "overlay": "overlay /nfs overlay rw,relatime,lowerdir=/l,upperdir=/u,workdir=/w 0 0",
    "zfs": "tank/home /nfs zfs rw,xattr,noacl 0 0",
    "beegfs": "beegfs_nodev /nfs beegfs rw,relatime,cfgFile=/etc/beegfs/beegfs-client.conf 0 0",
}

# name -> (verdict, source, a word of the line it gives)
EXPECTED = {
    "nfs4": (COHERENT, LAB, "server's byte-range locks"),
    "nfs3": (COHERENT, LAB, "server's byte-range locks"),
    "nfs3 local_lock=all": (NOT_ACROSS_HOSTS, LAB, "NFS mounted with local_lock=all"),
    "nfs3 local_lock=flock": (NOT_ACROSS_HOSTS, DOCS, "NFS mounted with local_lock=flock"),
    "nfs3 nolock": (NOT_ACROSS_HOSTS, DOCS, "NFS mounted with nolock"),
    "gpfs": (COHERENT, DOCS, "GPFS"),
    "lustre flock": (COHERENT, DOCS, ""),
    "lustre localflock": (NOT_ACROSS_HOSTS, DOCS, "Lustre mounted with localflock"),
    "lustre noflock": (NOT_ACROSS_HOSTS, DOCS, "Lustre mounted without flock"),
    "cifs": (COHERENT, DOCS, ""),
    "cifs nobrl": (NOT_ACROSS_HOSTS, DOCS, "SMB mounted with nobrl"),
    "smb3": (COHERENT, DOCS, ""),
    "9p": (NOT_ACROSS_HOSTS, DOCS, "9p"),
    "virtiofs": (NOT_ACROSS_HOSTS, DOCS, "virtiofs"),
    "sshfs": (NOT_ACROSS_HOSTS, DOCS, "sshfs"),
    "rclone": (UNKNOWN, DOCS, "a FUSE filesystem"),
    "fuseblk": (ONE_HOST, DOCS, ""),
    "ext4": (ONE_HOST, DOCS, ""),
    "xfs": (ONE_HOST, DOCS, ""),
    "btrfs": (ONE_HOST, DOCS, ""),
    "tmpfs": (ONE_HOST, DOCS, ""),
    "overlay": (ONE_HOST, DOCS, ""),
    "zfs": (ONE_HOST, DOCS, ""),
    "beegfs": (UNKNOWN, DOCS, "a filesystem piplockhook does not know"),
}

ROOT_LINE = "/dev/vda / ext4 rw,relatime 0 0"


def verdict(name, magic=None):
    mount = mount_in(ROOT_LINE + "\n" + MOUNTS[name] + "\n", "/nfs/venv")
    return verdict_for(mount, magic)


def said(works, problem, found):
    """check's lines for the venv at /nfs/venv after its two processes gave (works, problem)."""
    works, problem = check_command.across_hosts(works, problem, found)
    return works, check_command.lines(works, problem, "in /nfs/venv", "", "the proof", found)


@pytest.mark.parametrize("name", sorted(MOUNTS))
def test_each_kind_of_mount_has_its_verdict(name):
    found = verdict(name)
    assert found.mount.point == "/nfs"
    verdict_, source, words = EXPECTED[name]
    assert (found.row.verdict, found.row.source) == (verdict_, source)
    text = found.failure() if found.fails else found.warning()
    assert words in text
    assert bool(text) == bool(words)  # nothing said where nothing is wrong


@pytest.mark.parametrize("name", sorted(MOUNTS))
def test_check_fails_exactly_where_other_hosts_would_not_be_excluded(name):
    found = verdict(name)
    works, lines = said(True, "", found)
    assert works == (found.row.verdict != NOT_ACROSS_HOSTS)
    assert lines[0].startswith("locking works in /nfs/venv (" if works else "locking does NOT work in /nfs/venv (")
    if found.row.verdict == NOT_ACROSS_HOSTS:
        assert lines == [
            f"locking does NOT work in /nfs/venv ({found.mount.fstype} at /nfs): two processes here excluded "
            f"each other, but {found.failure()}"
        ]
        assert found.row.fix in lines[0]  # the line says its fix: no hint line
    elif found.row.verdict == UNKNOWN:
        assert lines[1].startswith("WARNING: /nfs (") and lines[2] == f"  hint: {found.row.fix}"
    elif found.row.note:
        assert lines[1:] == [f"WARNING: {found.warning()}"]
    else:
        assert lines[1:] == []


def test_the_lab_s_nfs_lines_are_kept_word_for_word():
    # docs/nfs.md and docs/filesystems.md quote the first; tests/nfs/test_nfs.py looks for its words
    _, lines = said(True, "", verdict("nfs3 local_lock=all"))
    assert lines == [
        "locking does NOT work in /nfs/venv (nfs at /nfs): two processes here excluded each other, but /nfs is "
        "NFS mounted with local_lock=all: flock locks stay on this host, so pips on other hosts are not excluded "
        "(mount it without that option)"
    ]
    for page in ("nfs.md", "filesystems.md"):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", page), encoding="utf-8") as f:
            assert lines[0] in f.read(), page
    _, lines = said(True, "", verdict("nfs4"))
    options = MOUNTS["nfs4"].split()[3]
    assert lines == [
        "locking works in /nfs/venv (nfs4 at /nfs): the proof",
        f"WARNING: /nfs (nfs4, {options}): NFS; flock goes through the server's byte-range locks, so other hosts "
        "see it only if they use the same server locking",
    ]


def test_a_refused_flock_says_the_mount_option_too():
    # Lustre mounted without flock (noflock): flock(2) fails with ENOSYS, the
    # two processes prove nothing, and the line names the mount's fix.
    works, lines = said(False, "cannot lock a file in /nfs/venv: Function not implemented", verdict("lustre noflock"))
    assert not works
    assert lines == [
        "locking does NOT work in /nfs/venv (lustre at /nfs): cannot lock a file in /nfs/venv: Function not "
        "implemented; /nfs is Lustre mounted without flock: flock(2) fails there (noflock: ENOSYS) or stays on "
        "this client (localflock), so pips on other clients are not excluded (mount it with -o flock)"
    ]
    works, lines = said(False, "wrong: shared beside another shared holder", verdict("ext4"))
    assert lines == [
        "locking does NOT work in /nfs/venv (ext4 at /nfs): wrong: shared beside another shared holder",
        f"  hint: {filesystems.ELSEWHERE}",
    ]


def test_no_mount_read_says_nothing_of_other_hosts():
    assert said(True, "", None) == (True, ["locking works in /nfs/venv: the proof"])


# -- reading /proc/mounts


def test_the_longest_mount_point_holding_the_path_wins():
    text = "\n".join(
        [
            ROOT_LINE,
            "srv:/home /home nfs4 rw,vers=4.2,local_lock=none 0 0",
            MOUNTS["sshfs"].replace(" /nfs ", " /home/me/remote "),
            "short line",
            "",
        ]
    )
    assert mount_in(text, "/home/me/remote/venv").fstype == "fuse.sshfs"
    assert mount_in(text, "/home/me/remote").fstype == "fuse.sshfs"
    assert mount_in(text, "/home/me/remotely/venv").fstype == "nfs4"  # a prefix, not a parent
    assert mount_in(text, "/opt/venv") == Mount("/", "ext4", "rw,relatime")
    assert mount_in("", "/opt/venv") is None


def test_a_point_mounted_twice_is_the_last_mount():
    text = f"{ROOT_LINE}\ntmpfs /nfs tmpfs rw 0 0\n{MOUNTS['gpfs']}\n"
    assert mount_in(text, "/nfs/venv").fstype == "gpfs"


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("/mnt/my\\040share", "/mnt/my share"),
        ("/mnt/tab\\011and\\012line", "/mnt/tab\tand\nline"),
        ("/mnt/back\\134slash", "/mnt/back\\slash"),
        ("/mnt/plain", "/mnt/plain"),
        ("/mnt/not\\08octal", "/mnt/not\\08octal"),
        ("/mnt/end\\04", "/mnt/end\\04"),
    ],
)
def test_octal_escapes_of_mount_points(field, path):
    assert unescape(field) == path


def test_a_mount_point_with_spaces_is_found():
    text = f"{ROOT_LINE}\n//srv/s /mnt/my\\040share cifs rw,nobrl 0 0\n"
    found = verdict_for(mount_in(text, "/mnt/my share/venv"))
    assert found.mount.point == "/mnt/my share" and found.fails
    assert found.failure().startswith("/mnt/my share is SMB mounted with nobrl:")


def test_wsl_s_windows_drive_is_9p():
    # WSL 2 mounts C:\ as 9p (drvfs): the Windows side does not see a Linux flock
    text = f"{ROOT_LINE}\nC:\\134 /mnt/c 9p rw,noatime,aname=drvfs;path=C:\\;uid=1000,trans=fd,rfd=5,wfd=5 0 0\n"
    assert verdict_for(mount_in(text, "/mnt/c/venv")).fails


def test_mount_of_reads_a_file(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(f"{ROOT_LINE}\n{MOUNTS['gpfs']}\n")
    assert filesystems.mount_of("/nfs/venv", str(mounts)).fstype == "gpfs"
    assert filesystems.mount_of("/nfs/venv", str(tmp_path / "missing")) is None


# -- the statfs magic: where /proc/mounts is missing or names a type we do not know

MAGICS = {
    "nfs": (0x6969, UNKNOWN),  # its options decide, and there are none to read
    "gpfs": (0x47504653, COHERENT),
    "lustre": (0x0BD00BD0, UNKNOWN),
    "cifs": (0xFF534D42, UNKNOWN),
    "smb2": (0xFE534D42, UNKNOWN),
    "9p": (0x01021997, NOT_ACROSS_HOSTS),
    "fuse": (0x65735546, UNKNOWN),
    "ext4": (0xEF53, ONE_HOST),
    "xfs": (0x58465342, ONE_HOST),
    "btrfs": (0x9123683E, ONE_HOST),
    "tmpfs": (0x01021994, ONE_HOST),
    "overlay": (0x794C7630, ONE_HOST),
    "zfs": (0x2FC12FC1, ONE_HOST),
    "unknown": (0x12345678, UNKNOWN),
}


@pytest.mark.parametrize("name", sorted(MAGICS))
def test_without_proc_mounts_the_magic_decides(name):
    magic, expected = MAGICS[name]
    found = verdict_for(Mount("/nfs", "", ""), magic)
    assert found.row.verdict == expected
    if expected == UNKNOWN:
        assert found.warning().startswith("/nfs (type unknown, options unknown): ")
    if name in ("nfs", "lustre", "cifs"):
        assert "mount options could not be read" in found.warning()


def test_a_type_we_do_not_know_falls_back_to_the_magic():
    assert kind_of("weirdfs", 0x47504653) == "gpfs"
    assert kind_of("weirdfs", None) == "unknown"
    assert kind_of("gpfs", 0xEF53) == "gpfs"  # /proc/mounts first
    assert kind_of("fuse.anything") == "fuse"
    found = verdict_for(Mount("/g", "weirdfs", "rw"), 0x47504653)
    assert not found.fails and "GPFS; other nodes see the lock through its fcntl part only" in found.warning()


def test_verdict_at_reads_this_host_on_linux_only(tmp_path, monkeypatch):
    if sys.platform == "linux":
        found = filesystems.verdict_at(str(tmp_path))
        assert found is not None and tmp_path.as_posix().startswith(found.mount.point)
        assert isinstance(filesystems.statfs_magic(str(tmp_path)), int)
        assert filesystems.statfs_magic(str(tmp_path / "missing")) is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert filesystems.verdict_at(str(tmp_path)) is None
    assert filesystems.statfs_magic(str(tmp_path)) is None


def test_the_table_is_whole():
    kinds = {row.kind for row in ROWS}
    assert set(filesystems.KINDS.values()) | set(filesystems.MAGICS.values()) <= kinds
    for kind in kinds:  # every kind ends in a row without an option: a mount always finds one
        assert [row.option for row in ROWS if row.kind == kind][-1] is None, kind
    for row in ROWS:
        assert row.source in (LAB, DOCS)
        assert bool(row.fix) == (row.verdict in (NOT_ACROSS_HOSTS, UNKNOWN)), row
    assert {row.option for row in ROWS if row.source == LAB} == {None, "local_lock=all"}  # .ci/nfs's mounts


def test_the_docs_page_has_every_row_with_its_verdict_and_source():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "filesystems.md"), encoding="utf-8") as f:
        table = {line.split(" | ")[0][2:]: line.split(" | ") for line in f.read().splitlines() if line.startswith("| ")}
    for row in ROWS:
        _, check, _, source = table[row.what]
        assert check.startswith("exit 1" if row.verdict == NOT_ACROSS_HOSTS else "exit 0"), row.what
        assert ("with a hint" in check) == (row.verdict == UNKNOWN), row.what
        assert source.startswith(row.source), row.what


# -- issue 31, point 3: a filesystem that refuses flock (Lustre noflock: ENOSYS;
# EOPNOTSUPP; the kernel's ENOTSUPP, 524) is not "someone holds it": the
# request fails at once, never retried (filelock#67 retried ENOSYS forever).


@pytest.mark.skipif(sys.platform == "win32", reason="flock(2)")
@pytest.mark.parametrize("refused", [38, 95, 524])
def test_a_refused_flock_fails_at_once(refused, tmp_path, monkeypatch):
    from piplockhook.lock import EXCLUSIVE, FileLock, LockUnavailable, _posix

    calls = []

    def flock(fd, operation):
        calls.append(operation)
        raise OSError(refused, os.strerror(refused))

    monkeypatch.setattr(_posix.fcntl, "flock", flock)
    with pytest.raises(OSError) as refused_by:
        _posix.try_lock(0, True)
    assert refused_by.value.errno == refused  # not taken for a busy lock (that answers False)
    lock = FileLock(str(tmp_path / ".lock"))
    start = time.monotonic()
    with pytest.raises(LockUnavailable) as unavailable:  # pip runs unlocked: installs warn, reads say it under debug
        lock.acquire(EXCLUSIVE, timeout=None)
    assert time.monotonic() - start < 5
    assert len(calls) == 2  # try_lock above, then acquire's one try: no retry, no wait
    assert str(unavailable.value) == (
        f"{lock.path} cannot be locked: its filesystem refuses file locks ({os.strerror(refused)}); "
        "`piplockhook check` there says why, and PIPLOCKHOOK_LOCKFILE can name a file on one that locks"
    )
    lock.close()
    # status asks why_unlockable: the same words, for a lock file that is there and for one not yet made
    assert why_unlockable(lock.path) == str(unavailable.value)
    missing = str(tmp_path / "venv" / ".lock")
    assert why_unlockable(missing) == str(unavailable.value).replace(lock.path, missing)
    assert sorted(os.listdir(tmp_path)) == [".lock"]  # the scratch file is gone
    monkeypatch.undo()
    assert why_unlockable(lock.path) == ""


@pytest.mark.skipif(sys.platform == "win32", reason="flock(2)")
def test_a_busy_lock_is_a_lock_that_works_for_why_unlockable(tmp_path):
    from piplockhook.lock import EXCLUSIVE, FileLock

    holder = FileLock(str(tmp_path / ".lock"))
    holder.acquire(EXCLUSIVE)
    try:
        assert why_unlockable(holder.path) == ""
    finally:
        holder.close()
