#!/usr/bin/env python3
# A stand-in for OUTDIR/train that runs until it is stopped.
import time

while True:
    time.sleep(0.1)
