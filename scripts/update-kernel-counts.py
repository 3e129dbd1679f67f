#!/usr/bin/env python3
"""Rewrites the golden lines of test/Tools/kernel-counts.test from what the
current d2lc prints, in the spirit of LLVM's update_test_checks.py: every
`# RUN: d2lc ... | FileCheck %s --check-prefix=P` is run, and each `# P: F ...`
line becomes the output line of function F. Review the diff before committing:
a changed count is a fusion change and needs a reason.

  scripts/update-kernel-counts.py [BUILD_DIR]
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
TEST = os.path.join(ROOT, "test", "Tools", "kernel-counts.test")

lines = open(TEST).read().split("\n")
outputs = {}
for line in lines:
    m = re.match(r"# RUN: (d2lc .*) \| FileCheck %s --check-prefix=(\S+)", line)
    if not m:
        continue
    cmd = m.group(1).replace("%models", os.path.join(ROOT, "models"))
    cmd = os.path.join(BUILD, "bin", "") + cmd
    out = subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout
    outputs[m.group(2)] = {
        row.split()[0]: " ".join(row.split()) for row in out.splitlines() if row.strip()
    }
changed = 0
for i, line in enumerate(lines):
    m = re.match(r"# ([A-Z0-9-]+): (\S+) ", line)
    if m and m.group(1) in outputs:
        new = "# %s: %s" % (m.group(1), outputs[m.group(1)][m.group(2)])
        if new != line:
            changed += 1
            lines[i] = new
open(TEST + ".tmp", "w").write("\n".join(lines))
os.replace(TEST + ".tmp", TEST)
print("%d golden lines changed" % changed)
