#!/usr/bin/python3
"""Writes the golden fixtures under test/fixtures/ with PyTorch (Debian python3-torch 1.13).

Run by hand, not in CI:  /usr/bin/python3 scripts/fixtures.py [group ...]
Each module in scripts/fixture_groups/ defines GROUP (a name) and make() -> list of cases.
"""
import importlib
import os
import pkgutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import fixture_groups  # noqa: E402
from fixture_lib import save  # noqa: E402

torch.set_num_threads(1)
wanted = set(sys.argv[1:])
for info in sorted(pkgutil.iter_modules(fixture_groups.__path__), key=lambda m: m.name):
    mod = importlib.import_module("fixture_groups." + info.name)
    if wanted and mod.GROUP not in wanted:
        continue
    torch.manual_seed(0)
    save(mod.GROUP, mod.make())
