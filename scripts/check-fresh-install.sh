#!/usr/bin/env bash
# A fresh clone installed as a user without a C++ toolchain would: g++, c++, cc, gcc, clang and
# make are not on PATH (only node, npm and a shell are). Checks that `npm ci` prints no npm
# warning, uses the prebuilt addon (no build/ folder appears), and that training runs on it.
# Run by hand (about a minute; uses the npm cache or registry): bash scripts/check-fresh-install.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/normlab"
mkdir "$work/bin"
for tool in node npm npx sh bash env; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
cd "$work/normlab"
for tool in g++ c++ cc gcc clang make; do
  if PATH="$work/bin" command -v "$tool" >/dev/null; then echo "FAIL: $tool is still on PATH"; exit 1; fi
done
PATH="$work/bin" npm ci > "$work/npm-ci.log" 2>&1 || { cat "$work/npm-ci.log"; echo "FAIL: npm ci without a compiler"; exit 1; }
if grep -qi 'npm warn' "$work/npm-ci.log"; then grep -i 'npm warn' "$work/npm-ci.log"; echo "FAIL: npm ci printed warnings"; exit 1; fi
grep 'normlab: using the prebuilt' "$work/npm-ci.log"
if [ -e build ]; then echo "FAIL: a build/ folder appeared"; exit 1; fi
PATH="$work/bin" node bin/normlab.js train --network lenet5 --epochs 1 --train-limit 1000 --test-limit 200 --progress none --out "$work/run"
echo "OK: installed without a compiler, no npm warnings, trained on the prebuilt addon"
