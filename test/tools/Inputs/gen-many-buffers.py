#!/usr/bin/env python3
"""Prints a pz function with N arena buffers of 2^51 bytes each (2^48 f64
elements), all live at once: N >= 4096 of them sum past 2^63 bytes.

Usage: gen-many-buffers.py N
"""
import sys

n = int(sys.argv[1])
t = "tensor<281474976710656xf64>"
print("module {")
print(f"  func.func @step(%x: {t}) -> {t} {{")
for i in range(n):
    print(f"    %r{i} = pz.add %x, %x : {t}, {t} -> {t}")
for i in range(n):
    print(f"    %s{i} = pz.add %r{i}, %x : {t}, {t} -> {t}")
print(f"    return %s{n - 1} : {t}")
print("  }")
print("}")
