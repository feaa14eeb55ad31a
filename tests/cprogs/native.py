"""Run the C test programs natively, to compare with the emulator.

The machine runs i386 code natively, so the static binaries in build/ can be
executed directly; their stdout and exit status are the reference results.
"""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.path.join(HERE, "build")


def prog_path(name):
    """Path of a built test program, e.g. prog_path("hello")."""
    return os.path.join(BUILD_DIR, name)


def build(quiet=True):
    """Build all programs with make (raises CalledProcessError on failure)."""
    subprocess.run(["make", "-C", HERE], check=True,
                   stdout=subprocess.DEVNULL if quiet else None)


def run_native(path, args=(), env=None, stdin=b"", timeout=60):
    """Run `path` natively with argv = [path, *args].

    env: dict for the environment (None = empty environment, so runs are
    reproducible).  Returns (stdout_bytes, exit_status); a death by signal N
    is reported as 128 + N, like a shell would.
    """
    proc = subprocess.run([path, *args], input=stdin, stdout=subprocess.PIPE,
                          env={} if env is None else env, timeout=timeout)
    rc = proc.returncode
    if rc < 0:
        rc = 128 - rc
    return proc.stdout, rc


if __name__ == "__main__":
    import sys
    out, status = run_native(sys.argv[1], sys.argv[2:], env=dict(os.environ))
    sys.stdout.buffer.write(out)
    print("exit status:", status)
