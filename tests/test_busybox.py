"""Shell scripts run by Debian's static i386 busybox, natively and under the emulator: same stdout, same status.

Each case is a file in tests/busybox_scripts/ (see tests/busybox.py). The binary comes from the Debian archive
(busybox-static:i386, fetched once into tests/.cache/busybox/); the tests skip only when apt cannot reach it.
"""

import importlib.util
import os

import pytest

_spec = importlib.util.spec_from_file_location(
    "busybox_helper", os.path.join(os.path.dirname(os.path.abspath(__file__)), "busybox.py"))
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)

CASES = bb.load_cases()


def test_cases_exist():
    assert len(CASES) >= 20


def test_applet_dir(busybox_env):
    busybox, bindir = busybox_env
    for applet in bb.APPLETS:
        assert os.path.realpath(os.path.join(bindir, applet)) == os.path.realpath(busybox)


@pytest.mark.parametrize("script", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_busybox_sh(busybox_env, script, tmp_path):
    busybox, bindir = busybox_env
    native, emulated = bb.run_case(busybox, bindir, script, str(tmp_path / "work"))
    assert not native.timed_out, f"the native run timed out:\n{native.stderr.decode(errors='replace')}"
    stderr = emulated.stderr.decode(errors="replace")
    assert (emulated.stdout, emulated.status) == (native.stdout, native.status), (
        f"{bb.first_difference(native, emulated)}\n--- script ---\n{script}"
        f"--- emulator stderr ---\n{stderr}")
