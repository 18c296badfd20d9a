#!/usr/bin/env node
// The native addon at install time (package.json "install") and when making the prebuilt one.
//
//   node scripts/native-addon.js install    use prebuilds/<platform>-<arch>/normlab.node when it
//                                           was built from exactly these sources; otherwise
//                                           compile with node-gyp (needs g++ and make)
//   node scripts/native-addon.js explain    print that decision and do nothing
//   node scripts/native-addon.js prebuild   compile, strip, and write the prebuilt addon and its
//                                           manifest (prebuilds/<platform>-<arch>/normlab.json)
//
// "Exactly these sources": the manifest records the SHA-256 of binding.gyp, every file below native/
// and the node-addon-api version (its headers are compiled in); a prebuilt whose hash differs is
// never used. One binary serves every x86-64 CPU: the kernels pick scalar, AVX2 or AVX-512 code
// at run time (native/kernels/cpu_features.cc), and the addon uses N-API 8, so any Node >= 12.22 loads it.
// Set NORMLAB_BUILD_FROM_SOURCE=1 (or npm's --build-from-source) to always compile.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = `${process.platform}-${process.arch}`;
const prebuiltDir = join(root, 'prebuilds', target);
const prebuilt = join(prebuiltDir, 'normlab.node');
const manifestFile = join(prebuiltDir, 'normlab.json');

/** Paths (relative to dir, '/'-separated) of the files below the folder rel. */
function filesBelow(dir, rel) {
  return readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesBelow(dir, `${rel}/${e.name}`) : [`${rel}/${e.name}`]));
}

/** SHA-256 over binding.gyp, every file below native/ (by path) and the node-addon-api version. */
export function sourcesHash(dir = root) {
  const h = createHash('sha256');
  const files = ['binding.gyp', ...filesBelow(dir, 'native').sort()];
  for (const f of files) h.update(f).update('\0').update(readFileSync(join(dir, f))).update('\0');
  const api = JSON.parse(readFileSync(createRequire(join(dir, 'package.json')).resolve('node-addon-api/package.json'), 'utf8')).version;
  return h.update(`node-addon-api ${api}`).digest('hex');
}

/** Whether the prebuilt addon fits: { use: true } or { use: false, why }. */
export function decide(dir = root) {
  if (process.env.NORMLAB_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true') return { use: false, why: 'building from source was asked for' };
  const file = join(dir, 'prebuilds', target, 'normlab.node');
  const manifest = join(dir, 'prebuilds', target, 'normlab.json');
  if (!existsSync(file) || !existsSync(manifest)) return { use: false, why: `there is no prebuilt addon for ${target}` };
  const m = JSON.parse(readFileSync(manifest, 'utf8'));
  const now = sourcesHash(dir);
  if (m.sources !== now) return { use: false, why: `the native sources changed since the prebuilt addon was made (${m.sources.slice(0, 12)} vs ${now.slice(0, 12)}; npm run prebuilt makes a new one)` };
  return { use: true, why: `prebuilt ${target} addon from these sources (${m.compiler}, glibc >= ${m.glibc})` };
}

function nodeGyp(args) {
  const gyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  return spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' }).status;
}

function install() {
  const d = decide();
  if (d.use) {
    // A build/ left from an earlier compile would be loaded first (src/backend/native.ts).
    rmSync(join(root, 'build'), { recursive: true, force: true });
    console.log(`normlab: using the ${d.why}; nothing to compile`);
    return 0;
  }
  console.log(`normlab: compiling the native addon with node-gyp because ${d.why}`);
  const status = nodeGyp(['rebuild']);
  if (status !== 0) {
    console.error(`normlab: compiling the native addon failed (node-gyp exit ${status}). It needs a C++17 compiler (g++ or clang++), make and python3; on Debian/Ubuntu: apt-get install g++ make python3.`);
  }
  return status ?? 1;
}

/** The newest symbol version with this prefix (GLIBC_, GLIBCXX_) the addon needs (objdump -T), or 'none'. */
function newestSymbolVersion(file, prefix) {
  const r = spawnSync('objdump', ['-T', file], { encoding: 'utf8' });
  const versions = [...(r.stdout ?? '').matchAll(new RegExp(`${prefix}(\\d+(?:\\.\\d+)*)`, 'g'))].map((m) => m[1].split('.').map(Number));
  if (versions.length === 0) return 'none';
  versions.sort((a, b) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    return 0;
  });
  return versions[versions.length - 1].join('.');
}

function prebuild() {
  // libstdc++ stays a shared library: linking it in (-static-libstdc++) raised the glibc needed
  // from 2.34 to 2.36 (GCC 12's libstdc++ uses arc4random), which Ubuntu 22.04 does not have.
  const status = nodeGyp(['rebuild']);
  if (status !== 0) return status ?? 1;
  mkdirSync(prebuiltDir, { recursive: true });
  const tmp = `${prebuilt}.tmp-${process.pid}`;
  copyFileSync(join(root, 'build', 'Release', 'normlab.node'), tmp);
  const strip = spawnSync('strip', ['--strip-unneeded', tmp], { stdio: 'inherit' });
  if (strip.status !== 0) throw new Error('prebuild: strip failed');
  const compiler = spawnSync('c++', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  const manifest = {
    target, sources: sourcesHash(), napi: 8, compiler, glibc: newestSymbolVersion(tmp, 'GLIBC_'), libstdcxx: newestSymbolVersion(tmp, 'GLIBCXX_'), bytes: statSync(tmp).size,
    isa: 'x86-64 baseline; AVX2+FMA and AVX-512 (F, DQ, BW, VL) kernels chosen at run time (NORMLAB_ISA overrides)',
  };
  renameSync(tmp, prebuilt);
  writeFileSync(`${manifestFile}.tmp`, JSON.stringify(manifest, null, 2) + '\n');
  renameSync(`${manifestFile}.tmp`, manifestFile);
  console.log(`wrote ${prebuilt} (${manifest.bytes} bytes) and ${manifestFile}`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const cmd = process.argv[2];
  if (cmd === 'install') process.exitCode = install();
  else if (cmd === 'prebuild') process.exitCode = prebuild();
  else if (cmd === 'explain') {
    const d = decide();
    console.log(d.use ? `use: ${d.why}` : `build: ${d.why}`);
  } else {
    console.error('usage: node scripts/native-addon.js install | explain | prebuild');
    process.exitCode = 2;
  }
}
