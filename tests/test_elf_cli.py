"""Malformed executables end with one line and exit 1 (or run and fault like any guest), never a traceback."""

import os
import random
import struct
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emu.cli import main


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_elf_headers_never_raise_out_of_the_cli(asm_build, tmp_path_factory, capfd, data):
    good = open(os.path.join(asm_build, "hello"), "rb").read()
    raw = bytearray(good)
    # Mutate header and program-header bytes (the first 52 + 2 * 32), or cut the file short.
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, 52 + 64 - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    path = tmp_path_factory.mktemp("elf") / "prog"
    path.write_bytes(bytes(raw))
    status = main(["run", "--max-insns", "200000", "--mem", "32M", str(path)])
    err = capfd.readouterr().err
    if status == 1:
        assert err.startswith("emu: ") and err.count("\n") == 1, err
    else:
        assert status in (0, 128 + 4, 128 + 5, 128 + 7, 128 + 8, 128 + 9, 128 + 11), (status, err)


def test_x86_64_binary_given_to_execve_is_enoexec(tmp_path, toolchain):
    src = tmp_path / "ex.c"
    src.write_text('#include <errno.h>\n#include <stdio.h>\n#include <unistd.h>\n'
                   'int main(void){ char *a[] = {"ls", 0}; execv("/bin/ls", a);'
                   ' printf("execv: %s\\n", errno == ENOEXEC ? "ENOEXEC" : "other"); return 0; }\n')
    prog = tmp_path / "ex"
    subprocess.run(["gcc", "-m32", "-static", "-o", str(prog), str(src)], check=True)
    r = subprocess.run([sys.executable, "-m", "emu", "run", str(prog)], capture_output=True, text=True, timeout=60)
    assert r.stdout == "execv: ENOEXEC\n"


def test_random_bytes_named_like_a_program_are_one_line_errors(tmp_path):
    rnd = random.Random(7)
    for i in range(20):
        p = tmp_path / f"junk{i}"
        p.write_bytes(b"\x7fELF" + struct.pack("<B", rnd.randrange(256)) + bytes(rnd.randrange(256)
                                                                             for _ in range(rnd.randrange(200))))
        r = subprocess.run([sys.executable, "-m", "emu", "run", str(p)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.startswith("emu: ") and r.stderr.count("\n") == 1, r.stderr
