#!/usr/bin/env python3
"""Prints a module whose attribute t.x nests N levels deep through aliases
(#a1 = [#a0], #a2 = [#a1], ...): no line nests more than one bracket.

Usage: gen-alias-chain.py N
"""
import sys

n = int(sys.argv[1])
print("#a0 = [1]")
for i in range(1, n):
    print(f"#a{i} = [#a{i - 1}]")
print(f"module attributes {{t.x = #a{n - 1}}} {{")
print('  func.func @forward(%x: tensor<2xf32> {pz.input = "x"}) -> (tensor<2xf32> {pz.output = "y"}) {')
print("    %y = pz.relu %x : tensor<2xf32>")
print("    return %y : tensor<2xf32>")
print("  }")
print("}")
