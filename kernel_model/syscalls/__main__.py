"""`python -m kernel_model.syscalls`: print the README's list of implemented syscalls (from the table)."""

from . import implemented_markdown

print(implemented_markdown(), end="")
