#!/usr/bin/env python3
"""Runs a command and fails unless it exits with the expected code.

Usage: expect_exit.py CODE COMMAND [ARGS...]
The command's stdout and stderr pass through (stderr merged into stdout), so
FileCheck can check the messages.
"""
import subprocess
import sys

want = int(sys.argv[1])
proc = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE,
                      stderr=subprocess.STDOUT)
sys.stdout.buffer.write(proc.stdout)
if proc.returncode != want:
    sys.stdout.write(f"\nexpect_exit: exit code {proc.returncode}, wanted {want}\n")
    sys.exit(1)
