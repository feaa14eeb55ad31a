"""`emu rootfs DIR`: an i386 Debian root built with Debian's own tooling, for `emu run --root DIR`.

mmdebstrap (or debootstrap when it is the one installed) fetches i386 packages from the Debian archive the host's
apt is configured for, nothing else, and unpacks them into DIR: the `minbase` variant (Essential packages and apt:
dash, bash, coreutils, grep, sed, findutils, tar, gzip, diffutils, ...) plus what `--include` names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

DEFAULT_SUITE = "bookworm"
DEFAULT_VARIANT = "minbase"


def _du(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def rootfs_command(tool: str, dest: str, include: list[str], suite: str, variant: str,
                   mirror: str | None) -> list[str]:
    """The command line that builds the root with tool (mmdebstrap or debootstrap)."""
    name = os.path.basename(tool)
    if name == "mmdebstrap":
        cmd = [tool, "--architectures=i386", f"--variant={variant}"]
        if include:
            cmd.append("--include=" + ",".join(include))
        cmd += [suite, dest]
        return cmd + ([mirror] if mirror else [])  # no mirror: the host's apt sources
    cmd = [tool, "--arch=i386", f"--variant={variant}"]
    if include:
        cmd.append("--include=" + ",".join(include))
    return cmd + [suite, dest, mirror or "http://deb.debian.org/debian"]


def build_rootfs(dest: str, include: list[str] | None = None, suite: str = DEFAULT_SUITE,
                 variant: str = DEFAULT_VARIANT, mirror: str | None = None) -> int:
    """Build the root; print what was done, how long it took and how big the root is. Returns an exit status."""
    include = [p for item in (include or []) for p in item.split(",") if p]
    tool = shutil.which("mmdebstrap") or shutil.which("debootstrap")
    if tool is None:
        print("emu rootfs: needs mmdebstrap or debootstrap (Debian: apt-get install -y mmdebstrap)", file=sys.stderr)
        return 1
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        print(f"emu rootfs: {dest} exists and is not an empty directory", file=sys.stderr)
        return 1
    cmd = rootfs_command(tool, dest, include, suite, variant, mirror)
    print(f"emu rootfs: building an i386 {suite} root ({variant}"
          f"{' + ' + ', '.join(include) if include else ''}) in {dest} with {os.path.basename(tool)}",
          file=sys.stderr, flush=True)
    print("emu rootfs: " + " ".join(cmd), file=sys.stderr, flush=True)
    start = time.monotonic()
    try:
        r = subprocess.run(cmd)  # its progress goes to the terminal as it works
    except OSError as e:
        print(f"emu rootfs: cannot run {tool}: {e.strerror}", file=sys.stderr)
        return 1
    if r.returncode != 0:
        print(f"emu rootfs: {os.path.basename(tool)} failed (exit status {r.returncode}); its messages are above "
              "(no network to the Debian archive, or not root?)", file=sys.stderr)
        return 1
    took = time.monotonic() - start
    size = _du(dest)
    print(f"emu rootfs: done in {took:.0f} s; {size / (1 << 20):.0f} MiB in {dest}. Run programs with "
          f"`emu run --root {dest} /bin/ls -la /`", file=sys.stderr)
    return 0
