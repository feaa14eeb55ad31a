"""Tests for kernel_model.vfs: chroot-like path resolution mirroring fs/namei.c."""

from __future__ import annotations

import os

import pytest

from kernel_model.abi import E
from kernel_model.files import KernelError
from kernel_model.vfs import MAXSYMLINKS, Vfs


def errno_of(fn, *args, **kw) -> int:
    with pytest.raises(KernelError) as info:
        fn(*args, **kw)
    return info.value.errno


@pytest.fixture
def tree(tmp_path):
    """root/{etc/passwd, home/user/notes.txt, file, dir/sub/}."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0\n")
    (tmp_path / "home" / "user").mkdir(parents=True)
    (tmp_path / "home" / "user" / "notes.txt").write_text("hi")
    (tmp_path / "file").write_text("data")
    (tmp_path / "dir" / "sub").mkdir(parents=True)
    return tmp_path


@pytest.fixture
def vfs(tree):
    return Vfs(str(tree))


def test_root_normalised_and_must_be_dir(tmp_path):
    (tmp_path / "d").mkdir()
    v = Vfs(str(tmp_path) + "/d/../d/")
    assert v.root == str(tmp_path / "d")
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError):
        Vfs(str(tmp_path / "f"))
    with pytest.raises(ValueError):
        Vfs(str(tmp_path / "missing"))
    assert Vfs(os.fsencode(str(tmp_path))).root == str(tmp_path)


def test_plain_resolution(vfs, tree):
    assert vfs.resolve("/", "/etc/passwd") == str(tree / "etc" / "passwd")
    assert vfs.resolve("/", "/") == str(tree)
    assert vfs.resolve("/", "//etc//./passwd") == str(tree / "etc" / "passwd")
    assert vfs.resolve("/home", "user/notes.txt") == str(tree / "home" / "user" / "notes.txt")
    assert vfs.resolve("/home/user", ".") == str(tree / "home" / "user")
    assert vfs.resolve("/home/user", "..") == str(tree / "home")
    assert vfs.resolve("/home/user", "../../etc/passwd") == str(tree / "etc" / "passwd")
    assert vfs.resolve("/", "dir/") == str(tree / "dir")
    assert vfs.resolve("/", "dir/sub/..") == str(tree / "dir")


def test_bytes_accepted(vfs, tree):
    assert vfs.resolve(b"/home", b"user/notes.txt") == str(tree / "home" / "user" / "notes.txt")
    assert vfs.resolve_guest(b"/", b"home/user") == "/home/user"


def test_empty_and_missing(vfs):
    assert errno_of(vfs.resolve, "/", "") == E.ENOENT
    assert errno_of(vfs.resolve, "/", "/nope") == E.ENOENT
    assert errno_of(vfs.resolve, "/", "/nope/x") == E.ENOENT
    assert errno_of(vfs.resolve, "/", "/nope/..") == E.ENOENT


def test_dotdot_cannot_escape(tmp_path):
    v = Vfs(str(tmp_path))
    assert errno_of(v.resolve, "/", "/../../etc/passwd") == E.ENOENT
    assert errno_of(v.resolve, "/", "../../../../etc/passwd") == E.ENOENT
    assert v.resolve("/", "/../../..") == str(tmp_path)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("x")
    assert v.resolve("/", "/../../etc/passwd") == str(tmp_path / "etc" / "passwd")
    assert v.resolve("/", "../../../../etc/passwd") == str(tmp_path / "etc" / "passwd")
    # A cwd that tries to climb is clamped too.
    assert v.resolve("/../..", "etc/passwd") == str(tmp_path / "etc" / "passwd")
    assert v.resolve_guest("/", "/../..") == "/"


def test_absolute_symlink_relative_to_root(vfs, tree):
    os.symlink("/etc", tree / "link")
    assert vfs.resolve("/", "link") == str(tree / "etc")
    assert vfs.resolve("/", "link/passwd") == str(tree / "etc" / "passwd")
    assert vfs.resolve_guest("/", "link") == "/etc"
    # An absolute link to a host file that exists on the host but not under root.
    os.symlink("/proc/self/status", tree / "hostlink")
    assert errno_of(vfs.resolve, "/", "hostlink") == E.ENOENT
    # Absolute link to the root itself, then .. from there.
    os.symlink("/", tree / "dir" / "toroot")
    assert vfs.resolve("/", "dir/toroot/../../..") == str(tree)
    assert vfs.resolve("/", "dir/toroot/etc/passwd") == str(tree / "etc" / "passwd")


def test_relative_symlink_climbing_stays_in_root(vfs, tree):
    os.symlink("../../../..", tree / "dir" / "sub" / "a")
    assert vfs.resolve("/", "dir/sub/a") == str(tree)
    assert vfs.resolve("/", "dir/sub/a/etc/passwd") == str(tree / "etc" / "passwd")
    assert vfs.resolve_guest("/", "dir/sub/a") == "/"
    assert vfs.resolve("/", "dir/sub/a/..") == str(tree)
    os.symlink("../../etc/passwd", tree / "dir" / "sub" / "pw")
    assert vfs.resolve("/dir", "sub/pw") == str(tree / "etc" / "passwd")
    # The link continues from its own directory, not the caller's cwd.
    assert vfs.resolve("/home/user", "/dir/sub/pw") == str(tree / "etc" / "passwd")


def test_dotdot_after_symlinked_dir_is_physical(vfs, tree):
    os.symlink("home/user", tree / "u")
    # u/.. is the parent of the link's target (/home), as in Linux, not "/".
    assert vfs.resolve("/", "u/..") == str(tree / "home")
    assert vfs.resolve_guest("/", "u/../user/notes.txt") == "/home/user/notes.txt"


def test_symlink_loops(vfs, tree):
    os.symlink("self", tree / "self")
    assert errno_of(vfs.resolve, "/", "self") == E.ELOOP
    os.symlink("b", tree / "a")
    os.symlink("a", tree / "b")
    assert errno_of(vfs.resolve, "/", "a") == E.ELOOP
    assert errno_of(vfs.resolve, "/", "a/x") == E.ELOOP
    assert errno_of(vfs.resolve, "/", "a", allow_missing_last=True) == E.ELOOP
    # Not followed -> no loop.
    assert vfs.resolve("/", "a", follow_last=False) == str(tree / "a")
    # Directory loop through a relative link: d/x -> . lets the path grow without bound.
    os.symlink(".", tree / "dir" / "dot")
    assert vfs.resolve("/", "dir/" + "dot/" * MAXSYMLINKS + "sub") == str(tree / "dir" / "sub")
    assert errno_of(vfs.resolve, "/", "dir/" + "dot/" * (MAXSYMLINKS + 1) + "sub") == E.ELOOP


def test_symlink_chain_limit(vfs, tree):
    # c0 -> c1 -> ... -> c40 -> file : 40 links followed is fine.
    n = MAXSYMLINKS
    for i in range(n):
        os.symlink(f"c{i + 1}", tree / f"c{i}")
    os.symlink("file", tree / f"c{n}")
    assert vfs.resolve("/", "c1") == str(tree / "file")
    # c0 needs 41 links.
    assert errno_of(vfs.resolve, "/", "c0") == E.ELOOP


def test_enotdir(vfs, tree):
    assert errno_of(vfs.resolve, "/", "file/x") == E.ENOTDIR
    assert errno_of(vfs.resolve, "/", "file/.") == E.ENOTDIR
    assert errno_of(vfs.resolve, "/", "file/..") == E.ENOTDIR
    assert errno_of(vfs.resolve, "/", "file/x", allow_missing_last=True) == E.ENOTDIR
    os.symlink("file", tree / "flink")
    assert errno_of(vfs.resolve, "/", "flink/x") == E.ENOTDIR


def test_trailing_slash(vfs, tree):
    assert errno_of(vfs.resolve, "/", "file/") == E.ENOTDIR
    assert errno_of(vfs.resolve, "/", "file//") == E.ENOTDIR
    assert vfs.resolve("/", "dir//") == str(tree / "dir")
    os.symlink("file", tree / "flink")
    os.symlink("dir", tree / "dlink")
    assert errno_of(vfs.resolve, "/", "flink/") == E.ENOTDIR
    assert errno_of(vfs.resolve, "/", "flink/", follow_last=False) == E.ENOTDIR
    # A trailing slash forces the final symlink to be followed.
    assert vfs.resolve("/", "dlink/", follow_last=False) == str(tree / "dir")
    # A trailing slash inside the body of a final link counts too.
    os.symlink("file/", tree / "fslash")
    assert errno_of(vfs.resolve, "/", "fslash") == E.ENOTDIR
    # Missing final with a trailing slash is allowed for creation (mkdir "new/").
    assert vfs.resolve("/", "new/", allow_missing_last=True) == str(tree / "new")
    assert errno_of(vfs.resolve, "/", "new/") == E.ENOENT


def test_follow_last_false(vfs, tree):
    os.symlink("/etc/passwd", tree / "pw")
    assert vfs.resolve("/", "pw", follow_last=False) == str(tree / "pw")
    assert vfs.resolve("/", "pw") == str(tree / "etc" / "passwd")
    assert vfs.resolve_guest("/", "pw", follow_last=False) == "/pw"
    assert vfs.resolve_guest("/", "pw") == "/etc/passwd"
    os.symlink("/nowhere", tree / "dangling")
    assert vfs.resolve("/", "dangling", follow_last=False) == str(tree / "dangling")
    assert errno_of(vfs.resolve, "/", "dangling") == E.ENOENT
    # Non-final symlinks are always followed.
    os.symlink("dir", tree / "dlink")
    assert vfs.resolve("/", "dlink/sub", follow_last=False) == str(tree / "dir" / "sub")


def test_allow_missing_last(vfs, tree):
    assert vfs.resolve("/", "/dir/newfile", allow_missing_last=True) == str(tree / "dir" / "newfile")
    assert vfs.resolve("/dir", "sub/new", allow_missing_last=True) == str(tree / "dir" / "sub" / "new")
    assert errno_of(vfs.resolve, "/", "/nodir/newfile", allow_missing_last=True) == E.ENOENT
    # Existing final components are returned as usual.
    assert vfs.resolve("/", "file", allow_missing_last=True) == str(tree / "file")
    assert vfs.resolve("/", "..", allow_missing_last=True) == str(tree)
    # A dangling final symlink names its target (open O_CREAT creates through it), inside the root.
    os.symlink("/etc/created", tree / "dangling")
    assert vfs.resolve("/", "dangling", allow_missing_last=True) == str(tree / "etc" / "created")
    assert vfs.resolve("/", "dangling", follow_last=False, allow_missing_last=True) == str(tree / "dangling")
    os.symlink("/missingdir/x", tree / "dangling2")
    assert errno_of(vfs.resolve, "/", "dangling2", allow_missing_last=True) == E.ENOENT
    os.symlink("../../../../escape", tree / "dir" / "up")
    assert vfs.resolve("/", "dir/up", allow_missing_last=True) == str(tree / "escape")


def test_guest_path_round_trip(vfs, tree):
    assert vfs.guest_path(str(tree)) == "/"
    assert vfs.guest_path(str(tree) + "/") == "/"
    for g in ["/etc/passwd", "/home/user", "/dir/sub", "/file"]:
        h = vfs.resolve("/", g)
        assert vfs.guest_path(h) == g
        assert vfs.resolve("/", vfs.guest_path(h)) == h
    assert vfs.guest_path(os.fsencode(str(tree / "etc"))) == "/etc"
    assert vfs.guest_path(str(tree / "dir" / ".." / "etc")) == "/etc"
    with pytest.raises(ValueError):
        vfs.guest_path("/definitely/not/under/root")
    with pytest.raises(ValueError):
        vfs.guest_path(str(tree) + "x/y")  # a sibling sharing the prefix
    with pytest.raises(ValueError):
        vfs.guest_path("relative/path")


def test_resolve_guest(vfs, tree):
    os.symlink("home/user", tree / "u")
    assert vfs.resolve_guest("/", "u") == "/home/user"
    assert vfs.resolve_guest("/home", "user/../..") == "/"
    assert vfs.resolve_guest("/", "/") == "/"
    assert vfs.resolve_guest("/home/user", "../../dir/./sub/") == "/dir/sub"
    assert errno_of(vfs.resolve_guest, "/", "nope") == E.ENOENT


def test_host_root_is_plain_resolution(tmp_path):
    v = Vfs("/")
    assert v.root == "/"
    base = os.path.realpath(str(tmp_path))
    os.makedirs(os.path.join(base, "a", "b"))
    with open(os.path.join(base, "a", "b", "f"), "w") as fh:
        fh.write("x")
    os.symlink(os.path.join(base, "a"), os.path.join(base, "abs"))  # absolute host link
    os.symlink("a/b", os.path.join(base, "rel"))
    assert v.resolve("/", base + "/a/b/f") == base + "/a/b/f"
    assert v.resolve("/", base + "/abs/b/f") == base + "/a/b/f"
    assert v.resolve("/", base + "/rel/f") == base + "/a/b/f"
    assert v.resolve(base, "rel/../b/f") == base + "/a/b/f"
    assert v.resolve("/", base + "/abs", follow_last=False) == base + "/abs"
    assert v.guest_path(base + "/a") == base + "/a"
    assert v.resolve_guest("/", base + "/abs/b") == base + "/a/b"
    for p in ["/etc/hostname", "/etc/passwd", "/usr/bin", "/proc/self"]:
        if os.path.lexists(p):
            assert v.resolve("/", p) == os.path.realpath(p)
            assert v.resolve("/", p, follow_last=False) == os.path.join(os.path.realpath(os.path.dirname(p)),
                                                                        os.path.basename(p))


def test_enametoolong(vfs, tree):
    assert errno_of(vfs.resolve, "/", "/" + "a" * 4095) == E.ENAMETOOLONG  # 4096 bytes
    assert errno_of(vfs.resolve, "/", "/" + "a" * 256) == E.ENAMETOOLONG
    assert errno_of(vfs.resolve, "/", "dir/" + "a" * 256, allow_missing_last=True) == E.ENAMETOOLONG
    # 255 bytes is a legal name: plain ENOENT.
    assert errno_of(vfs.resolve, "/", "/" + "a" * 255) == E.ENOENT
    # A 4095-byte path is within PATH_MAX; it fails for another reason.
    long_ok = "/" + "/".join(["b" * 200] * 20)
    long_ok += "/" + "c" * (4095 - len(long_ok) - 1)
    assert len(long_ok) == 4095
    assert errno_of(vfs.resolve, "/", long_ok) == E.ENOENT
    # Multi-byte characters are counted in bytes.
    assert errno_of(vfs.resolve, "/", "/" + "\u00e9" * 128) == E.ENAMETOOLONG
    # Checked when reached, as Linux does: a missing earlier component wins.
    assert errno_of(vfs.resolve, "/", "/nope/" + "a" * 256) == E.ENOENT


def test_eacces_on_unsearchable_dir(vfs, tree, monkeypatch):
    denied = str(tree / "home")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, **kw: False if p == denied else real_access(p, m, **kw))
    vfs.check_search = True
    assert errno_of(vfs.resolve, "/", "/home/user") == E.EACCES
    assert errno_of(vfs.resolve, "/", "/home/.") == E.EACCES
    assert errno_of(vfs.resolve, "/", "/home/new", allow_missing_last=True) == E.EACCES
    assert errno_of(vfs.resolve, "/home", "user") == E.EACCES
    # The directory itself can still be named; only lookups inside it need search permission.
    assert vfs.resolve("/", "/home") == denied
    # A search through a parent is fine, and an absolute path does not look at cwd.
    assert vfs.resolve("/home", "/etc/passwd") == str(tree / "etc" / "passwd")
    vfs.check_search = False
    assert vfs.resolve("/", "/home/user") == str(tree / "home" / "user")


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses search permission")
def test_eacces_real_permissions(vfs, tree):
    os.chmod(tree / "home", 0o600)
    try:
        assert errno_of(vfs.resolve, "/", "/home/user") == E.EACCES
    finally:
        os.chmod(tree / "home", 0o755)


def test_removed_cwd(vfs, tree):
    vfs.check_search = True
    assert errno_of(vfs.resolve, "/gone", "x") == E.ENOENT
