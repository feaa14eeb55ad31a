"""Benchmarks of the emulator against native execution and qemu-i386: `python -m benchmarks` (see README.md)."""
