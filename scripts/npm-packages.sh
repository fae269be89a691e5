#!/usr/bin/env bash
# Lays out what a release publishes, in the current folder (a checkout), from the binaries the
# release's build jobs made (artifacts/, one folder per target as actions/download-artifact leaves
# them): npm/<platform>/, one package per target of package.json's napi.targets with its binary
# (napi create-npm-dirs, then napi artifacts, which fails when a target's binary is missing), and
# the main package with no binary of its own: each user gets just theirs, from the package
# `napi prepublish` adds to its optionalDependencies when `npm publish` runs (prepublishOnly).
# .github/workflows/release.yml runs it; __test__/release.test.mjs runs it on this machine's
# binary. Extra arguments go to both napi commands (the test passes -c <napi config>).
set -euo pipefail
napi="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/node_modules/.bin/napi"

"$napi" create-npm-dirs "$@"
"$napi" artifacts --output-dir artifacts "$@"
# napi artifacts also copies every binary beside binding.js, and "files" would pack them all
# (they are there for a local `npm pack`, which carries this machine's binary).
rm -f ./*.node
