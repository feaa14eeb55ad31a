"""The syscall table's signatures: every implemented syscall has one, every type and result kind has a decoder in
emu/strace_decode.py, the README's list is the table's, and numbers and names come from syscall_32.tbl alone."""

import inspect
import os
import re

import pytest

from conftest import REPO
from emu import strace_decode
from kernel_model import abi
from kernel_model.syscalls import HANDLERS, SIGNATURES, SYSCALL_TABLE, implemented_markdown, sys_ni_syscall
from kernel_model.syscalls.table import ARG_TYPES, CLASSES, RESULT_KINDS, parse_signature


def test_every_implemented_syscall_has_a_signature():
    implemented = {sc.name for sc in SYSCALL_TABLE.values() if sc.fn is not sys_ni_syscall}
    assert implemented == set(HANDLERS)
    missing = sorted(n for n in implemented if SYSCALL_TABLE[abi.SYSCALL_NUMBERS[n]].sig is None)
    assert missing == [], f"implemented without a signature: {missing}"
    assert len(implemented) >= 140


def test_unimplemented_numbers_are_explicit_enosys_entries():
    for nr, name in abi.SYSCALL_NAMES.items():
        sc = SYSCALL_TABLE[nr]
        assert sc.nr == nr and sc.name == name
        if name not in HANDLERS:
            assert sc.fn is sys_ni_syscall and sc.sig is None


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_decodes_with_known_types(name):
    sig = SIGNATURES[name]
    assert sum(ARG_TYPES[a.type] for a in sig.args) <= 6
    assert sig.classes <= CLASSES
    assert sig.ret in RESULT_KINDS and sig.ret in strace_decode.RESULTS
    for a in sig.args:
        assert a.type in strace_decode.DECODERS, f"{name}: no decoder for {a.type}"
        if a.type == "flags":
            assert a.param in strace_decode.FLAG_SETS, f"{name}: unknown flag set {a.param}"
        if a.type == "enum":
            assert a.param in strace_decode.ENUM_SETS, f"{name}: unknown enum {a.param}"
    # The handler takes at least as many named registers as the signature describes, unless it reads them
    # from a struct (old mmap/select) or ignores them (*_).
    params = [p for p in inspect.signature(HANDLERS[name]).parameters.values()
              if p.kind == p.POSITIONAL_OR_KEYWORD][2:]
    if len(params) < 6:
        assert len(params) >= sum(ARG_TYPES[a.type] for a in sig.args) or name in (
            "rseq", "arch_prctl", "restart_syscall", "sigreturn", "rt_sigreturn", "fork", "vfork"), name


def test_every_decoder_type_is_a_signature_type():
    assert set(strace_decode.DECODERS) == set(ARG_TYPES)
    assert set(strace_decode.RESULTS) == RESULT_KINDS


@pytest.mark.parametrize("bad", ["int", "nosuchtype fd", "buf(nope) buf, size count", "int a, int b, int c, int d, "
                                 "int e, int f, int g", "out"])
def test_malformed_signatures_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_signature(bad)


def test_readme_lists_the_table():
    readme = open(os.path.join(REPO, "README.md")).read()
    m = re.search(r"<!-- syscalls:begin -->\n(.*?)<!-- syscalls:end -->", readme, re.S)
    assert m, "README has no generated syscall list"
    assert m.group(1) == implemented_markdown(), "README's syscall list is stale: python -m kernel_model.syscalls"


def test_syscall_names_are_written_once():
    # The numbers and names live only in syscall_32.tbl; abi.py parses it and repeats none of them.
    tbl = open(os.path.join(REPO, "kernel_model", "syscall_32.tbl")).read()
    abi_src = open(os.path.join(REPO, "kernel_model", "abi.py")).read()
    names = [line.split()[2] for line in tbl.splitlines() if line and not line.startswith("#")]
    assert len(names) == len(set(names)) == len(abi.SYSCALL_NAMES)
    for name in names:
        assert len(re.findall(rf"^\d+\s+i386\s+{name}$", tbl, re.M)) == 1
        assert f'"{name}"' not in abi_src and not re.search(rf"^\s*{name} = \d+", abi_src, re.M), name
    assert abi.NR.clone3 == 435 and abi.SYSCALL_NAMES[435] == "clone3"
