"""Debian's static i386 busybox, and shell scripts run with it natively and under the emulator.

``get_busybox(cache_dir)`` fetches the ``busybox-static:i386`` package with apt (``dpkg --add-architecture i386``,
``apt-get update``, ``apt-get download``), extracts it with ``dpkg -x`` into the cache directory and returns the
path of ``bin/busybox``; an already extracted binary is reused.  When apt cannot reach the Debian archive it raises
``BusyboxUnavailable`` (the busybox tests skip with that reason); any other problem raises ``RuntimeError``.

``make_applet_dir(busybox, bindir)`` fills a directory with applet symlinks (``sh``, ``ls``, ``cat``, ...) to the
binary, so that ``PATH=<bindir>`` finds external commands as busybox applets, natively and under the emulator.

The cases are the ``*.sh`` files in ``tests/busybox_scripts/``: each file's text is SCRIPT in
``busybox sh -c SCRIPT`` (``@BUSYBOX@`` in it stands for the absolute path of the busybox binary), run natively and
with ``python -m emu run --clear-env --env PATH=<bindir>``, each run in a fresh, empty working directory at the same
path, comparing stdout bytes and exit status.

``python tests/busybox.py [-j N] [CASE...]`` runs the cases and prints a PASS/FAIL table, the first difference of each
failure with the emulator's stderr, and every line the emulator printed on stderr (deduplicated, with counts).
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_CACHE_DIR = os.path.join(HERE, ".cache", "busybox")
SCRIPTS_DIR = os.path.join(HERE, "busybox_scripts")
CASE_TIMEOUT = 60  # seconds, per run (native or emulated)
PACKAGE = "busybox-static:i386"

APPLETS = (
    "sh", "ash", "ls", "cat", "echo", "wc", "sort", "uniq", "head", "tail", "tr", "cut", "sleep", "true", "false",
    "grep", "sed", "expr", "seq", "kill", "mkdir", "rmdir", "rm", "touch", "cp", "mv", "printf", "test", "[", "[[",
    "env", "pwd", "basename", "dirname", "xargs", "yes", "tee", "chmod", "ln", "readlink", "awk", "nc", "id", "free",
    "nproc", "uptime",
)

# Phrases in apt's output meaning it could not talk to the archive (DNS, TCP, HTTP or a mirror in an odd state).
_NETWORK_ERRORS = (
    "could not resolve", "temporary failure resolving", "unable to connect", "failed to fetch", "connection failed",
    "connection timed out", "network is unreachable", "no route to host", "could not connect", "err:",
)
# What `apt-get download` says when the package lists do not know the package (e.g. `apt-get update` failed).
_NO_CANDIDATE = ("unable to locate package", "can't select candidate version", "has no installation candidate")


class BusyboxUnavailable(Exception):
    """apt could not reach the Debian archive, so busybox-static:i386 cannot be fetched."""


def _is_i386_static_elf(path):
    """True when `path` is an ELF32 little-endian i386 executable without a PT_INTERP (static)."""
    try:
        with open(path, "rb") as f:
            head = f.read(52)
            if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] != 1 or head[5] != 1:
                return False
            if int.from_bytes(head[18:20], "little") != 3:  # e_machine EM_386
                return False
            phoff = int.from_bytes(head[28:32], "little")
            phentsize = int.from_bytes(head[42:44], "little")
            phnum = int.from_bytes(head[44:46], "little")
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                if int.from_bytes(f.read(4), "little") == 3:  # PT_INTERP
                    return False
            return True
    except OSError:
        return False


def _run(cmd, timeout=600, cwd=None):
    """Run a command, returning (returncode, combined output); a timeout is returncode None."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.output.decode(errors="replace") if isinstance(e.output, bytes) else (e.output or "")
        return None, out + f"\n(timed out after {timeout} s)"
    return p.returncode, p.stdout


def _looks_like_network_error(text):
    low = text.lower()
    return any(phrase in low for phrase in _NETWORK_ERRORS)


def _tail(text, n=8):
    return "\n".join(text.strip().splitlines()[-n:])


def _ensure_i386_architecture():
    """Add i386 to dpkg's architectures if needed; returns True when it was added (package lists are stale)."""
    rc, native = _run(["dpkg", "--print-architecture"], timeout=60)
    rc2, foreign = _run(["dpkg", "--print-foreign-architectures"], timeout=60)
    if rc != 0 or rc2 != 0:
        raise RuntimeError(f"dpkg does not work here:\n{_tail(native)}\n{_tail(foreign)}")
    if "i386" in native.split() or "i386" in foreign.split():
        return False
    if os.geteuid() != 0:
        raise RuntimeError("fetching busybox-static:i386 needs `dpkg --add-architecture i386`, which needs root "
                           "(run the tests as root, as CI does, or run it once by hand)")
    rc, out = _run(["dpkg", "--add-architecture", "i386"], timeout=60)
    if rc != 0:
        raise RuntimeError(f"`dpkg --add-architecture i386` failed:\n{_tail(out)}")
    return True


def get_busybox(cache_dir=DEFAULT_CACHE_DIR):
    """Path of Debian's static i386 busybox extracted under `cache_dir` (fetched with apt when not there yet).

    Raises BusyboxUnavailable when apt cannot reach the Debian archive, RuntimeError for any other failure.
    """
    return get_static_package(PACKAGE, "bin/busybox", cache_dir)


def get_static_package(package, binary, cache_dir):
    """Path of the static i386 program `binary` (relative to the package root) of the Debian package `package`
    (e.g. bash-static:i386), extracted under `cache_dir` and fetched with apt when not there yet; the errors are
    get_busybox's."""
    PACKAGE = package  # noqa: N806 (the messages below name the package being fetched)
    cache_dir = os.path.abspath(cache_dir)
    root = os.path.join(cache_dir, "root")
    busybox = os.path.join(root, binary)
    if _is_i386_static_elf(busybox):
        return busybox
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"`{tool}` not found: fetching {PACKAGE} needs Debian's apt-get and dpkg")
    os.makedirs(cache_dir, exist_ok=True)
    stale_lists = _ensure_i386_architecture()

    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="download.") as dl:
        os.chmod(dl, 0o777)  # apt downloads as the _apt user when it can write there (no "unsandboxed" warning)
        update_out = ""
        rc, out = (1, "") if stale_lists else _run(["apt-get", "download", PACKAGE], cwd=dl)
        if rc != 0:
            # No i386 package lists yet, or stale ones: refresh them (its exit status is non-zero even when one
            # unrelated index fails, so judge by whether the download then works).
            _, update_out = _run(["apt-get", "update"])
            rc, out = _run(["apt-get", "download", PACKAGE], cwd=dl)
        if rc != 0:
            detail = f"`apt-get download {PACKAGE}` failed:\n{_tail(out)}"
            if update_out:
                detail += f"\n`apt-get update` said:\n{_tail(update_out)}"
            no_candidate = any(phrase in out.lower() for phrase in _NO_CANDIDATE)
            if rc is None or _looks_like_network_error(out) or (no_candidate and _looks_like_network_error(update_out)):
                raise BusyboxUnavailable(f"apt cannot reach the Debian archive; {detail}")
            raise RuntimeError(detail)
        debs = [f for f in os.listdir(dl) if f.endswith(".deb")]
        if len(debs) != 1:
            raise RuntimeError(f"`apt-get download {PACKAGE}` left {debs!r} instead of one .deb")
        tmp_root = tempfile.mkdtemp(dir=cache_dir, prefix="root.")
        rc, out = _run(["dpkg", "-x", os.path.join(dl, debs[0]), tmp_root], timeout=120)
        if rc != 0:
            shutil.rmtree(tmp_root, ignore_errors=True)
            raise RuntimeError(f"`dpkg -x {debs[0]}` failed:\n{_tail(out)}")
        if not _is_i386_static_elf(os.path.join(tmp_root, binary)):
            shutil.rmtree(tmp_root, ignore_errors=True)
            raise RuntimeError(f"{debs[0]} has no static i386 {binary}")
        shutil.rmtree(root, ignore_errors=True)
        os.rename(tmp_root, root)
        os.chmod(root, 0o755)
    return busybox


def make_applet_dir(busybox, bindir=None):
    """A directory of applet symlinks (absolute) to `busybox`; default `<busybox's cache dir>/bin`."""
    busybox = os.path.abspath(busybox)
    if bindir is None:
        bindir = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(busybox))), "bin")
    os.makedirs(bindir, exist_ok=True)
    for applet in APPLETS:
        link = os.path.join(bindir, applet)
        if os.path.islink(link) and os.readlink(link) == busybox:
            continue
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(busybox, link)
    return bindir


def get_busybox_and_bindir(cache_dir=DEFAULT_CACHE_DIR):
    """(busybox path, applet directory) under `cache_dir`."""
    busybox = get_busybox(cache_dir)
    return busybox, make_applet_dir(busybox)


# --- cases ---------------------------------------------------------------------------------------------------------

def load_cases(scripts_dir=SCRIPTS_DIR):
    """[(case id, script text)] from the *.sh files, sorted by name; the id is the file name without .sh."""
    cases = []
    for name in sorted(os.listdir(scripts_dir)):
        if name.endswith(".sh"):
            with open(os.path.join(scripts_dir, name), encoding="utf-8") as f:
                cases.append((name[:-3], f.read()))
    return cases


@dataclass
class RunResult:
    stdout: bytes
    stderr: bytes
    status: int  # exit status; 128 + N for a death by signal N; -1 for a timeout
    timed_out: bool
    seconds: float


def _run_captured(cmd, cwd, env, timeout):
    """Run `cmd` in its own session; on timeout kill that process group (background jobs included)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    # Leftover background jobs of the script (its own process group) must not outlive the case.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    rc = proc.returncode
    if timed_out:
        rc = -1
        err += f"\n(timed out after {timeout} s)\n".encode()
    elif rc < 0:
        rc = 128 - rc
    return RunResult(out, err, rc, timed_out, time.monotonic() - start)


def expand_script(script, busybox):
    return script.replace("@BUSYBOX@", os.path.abspath(busybox))


def run_native(busybox, bindir, script, cwd, timeout=CASE_TIMEOUT):
    """busybox sh -c SCRIPT natively, environment {PATH: bindir}."""
    return _run_captured([busybox, "sh", "-c", expand_script(script, busybox)], cwd, {"PATH": bindir}, timeout)


def run_emulated(busybox, bindir, script, cwd, timeout=CASE_TIMEOUT, emu_repo=REPO):
    """python -m emu run --clear-env --env PATH=bindir BUSYBOX sh -c SCRIPT (the emu package from `emu_repo`)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = emu_repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [sys.executable, "-m", "emu", "run", "--clear-env", "--env", f"PATH={bindir}", busybox, "sh", "-c",
           expand_script(script, busybox)]
    return _run_captured(cmd, cwd, env, timeout)


def _fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)


def run_case(busybox, bindir, script, workdir, timeout=CASE_TIMEOUT, emu_repo=REPO):
    """(native RunResult, emulated RunResult); each run starts in an empty `workdir` (same path for both)."""
    _fresh_dir(workdir)
    native = run_native(busybox, bindir, script, workdir, timeout)
    _fresh_dir(workdir)
    emulated = run_emulated(busybox, bindir, script, workdir, timeout, emu_repo)
    shutil.rmtree(workdir, ignore_errors=True)
    return native, emulated


def first_difference(native, emulated):
    """A one-line description of the first difference between two RunResults, or None when they agree."""
    if native.stdout != emulated.stdout:
        a = native.stdout.split(b"\n")
        b = emulated.stdout.split(b"\n")
        for i in range(max(len(a), len(b))):
            la = a[i] if i < len(a) else None
            lb = b[i] if i < len(b) else None
            if la != lb:
                return f"stdout line {i + 1}: native {la!r} emu {lb!r}"
    if native.status != emulated.status:
        return f"status: native {native.status} emu {emulated.status}"
    return None


def stderr_lines(stderr):
    """The non-blank lines of `stderr`, each Python traceback folded into one line
    ("emu crashed: <exception> (at <file>:<line> in <function>)")."""
    out = []
    lines = stderr.decode(errors="replace").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("Traceback (most recent call last):"):
            where = ""
            i += 1
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                frame = lines[i].strip()
                if frame.startswith("File "):
                    parts = frame.split('"')
                    rest = frame.rsplit(", in ", 1)
                    if len(parts) >= 3 and len(rest) == 2:
                        where = f"{os.path.relpath(parts[1], REPO)}:{parts[2].split(',')[1].split()[-1]} in {rest[1]}"
                i += 1
            exc = lines[i].strip() if i < len(lines) else "?"
            out.append(f"emu crashed: {exc} (at {where})")
        elif line.strip():
            out.append(line)
        i += 1
    return out


# --- report --------------------------------------------------------------------------------------------------------

def main(argv=None):
    import argparse
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    ap = argparse.ArgumentParser(description="Run the busybox cases natively and under the emulator; print a table.")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="cases run at once (default 1)")
    ap.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    ap.add_argument("--emu-repo", default=REPO, help="checkout whose emu/ and kernel_model/ to run (default: this one)")
    ap.add_argument("cases", nargs="*", help="case ids (default: all)")
    args = ap.parse_args(argv)

    try:
        busybox = get_busybox(args.cache_dir)
    except BusyboxUnavailable as e:
        print(f"SKIP: {e}")
        return 0
    bindir = make_applet_dir(busybox)
    cases = load_cases()
    if args.cases:
        cases = [c for c in cases if c[0] in args.cases]
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="busybox-cases.") as tmp:
        def one(case):
            cid, script = case
            workdir = os.path.join(tmp, cid)
            return cid, run_case(busybox, bindir, script, workdir, emu_repo=os.path.abspath(args.emu_repo))
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(one, cases))
    total = time.monotonic() - start

    width = max(len(cid) for cid, _ in results)
    emu_lines, guest_lines = Counter(), Counter()
    passed = 0
    for cid, (native, emulated) in results:
        diff = first_difference(native, emulated)
        verdict = "PASS" if diff is None else "FAIL"
        passed += diff is None
        print(f"{cid:<{width}}  {verdict}  ({emulated.seconds:.1f} s)" + ("" if diff is None else f"  {diff}"))
        native_err = set(stderr_lines(native.stderr))
        err_lines = stderr_lines(emulated.stderr)
        if diff is not None:
            for ln in err_lines[:3]:
                print(f"{'':<{width}}        | {ln}")
        for ln in dict.fromkeys(err_lines):
            if ln.startswith(("emu:", "emu crashed:")):
                emu_lines[ln] += 1
            elif ln not in native_err:
                guest_lines[ln] += 1
    print(f"\n{passed}/{len(results)} passed in {total:.1f} s (timeout {CASE_TIMEOUT} s per run, {args.jobs} at once)")
    for title, counter in (("emulator messages", emu_lines), ("other stderr lines not in the native run", guest_lines)):
        print(f"\n{title} (cases printing each):")
        for ln, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:3d}  {ln}")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
