#!/usr/bin/env bash
# Builds the phone library and the server, generates the Python bindings (UniFFI) into a
# temporary directory, and runs test_full_flow.py against a real `openstopcovid serve`.
# Needs Python 3.11+ and its standard library only.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
cd "$root"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
# A debug build: the tests only need the flow to work, and CI builds debug for the tests
# anyway (dependencies are optimised by the workspace's dev profile).
cargo build --locked -p phone --features bindgen --lib --bin uniffi-bindgen
cargo build --locked -p openstopcovid

case "$(uname -s)" in
    Darwin) library="libphone.dylib" ;;
    *) library="libphone.so" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$target_dir/debug/uniffi-bindgen" generate --library "$target_dir/debug/$library" \
    --language python --out-dir "$work/bindings"
# The generated module loads the library from its own directory.
cp "$target_dir/debug/$library" "$work/bindings/"

PYTHONPATH="$work/bindings" \
    OPENSTOPCOVID_BIN="$target_dir/debug/openstopcovid" \
    OPENSTOPCOVID_TEST_DIR="$work" \
    python3 "$here/test_full_flow.py"
