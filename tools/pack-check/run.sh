#!/usr/bin/env bash
# Packages that install from outside (issue 19): packs every non-private workspace package with
# `npm pack`, installs the tarballs into fresh folders outside the workspace, and there
#  (a) builds and tests examples/third-party-policy (written against @mteperm/plugin-api alone)
#      and runs it through `mteperm run --policy ./dist/src/index.js` of the installed CLI;
#  (b) builds and runs examples/pipeline (cpufeature + pgtable + mmu on one bus).
# Third-party dependencies come from the npm cache `npm ci` filled (--prefer-offline), or the
# registry it reaches. Prints one line per check; exits non-zero on the first failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mteperm-pack-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
NPM_FLAGS=(--no-audit --no-fund --prefer-offline --loglevel=error)

# Every workspace package not marked private, wherever it is (a new package is packed too).
mapfile -t DIRS < <(cd "$ROOT" && node -e '
  const fs = require("fs"), path = require("path");
  const globs = require("./package.json").workspaces;
  for (const g of globs) {
    const base = g.replace(/\/\*$/, "");
    for (const d of fs.readdirSync(base).sort()) {
      const f = path.join(base, d, "package.json");
      if (fs.existsSync(f) && JSON.parse(fs.readFileSync(f, "utf8")).private !== true) console.log(path.join(base, d));
    }
  }')
[ "${#DIRS[@]}" -gt 0 ] || { echo "pack-check: no publishable package found"; exit 1; }

mkdir -p "$WORK/tarballs"
for d in "${DIRS[@]}"; do
  [ -d "$ROOT/$d/dist" ] || { echo "pack-check: $d has no dist (run npm run build)"; exit 1; }
  (cd "$ROOT/$d" && npm pack --silent --ignore-scripts --pack-destination "$WORK/tarballs" >/dev/null)
done
TARBALLS=("$WORK"/tarballs/*.tgz)
echo "pack-check: packed ${#TARBALLS[@]} packages: $(cd "$WORK/tarballs" && ls | sed 's/-[0-9].*//' | tr '\n' ' ')"

# A tarball must hold built output and its README, and no sources or specs of the workspace.
for t in "${TARBALLS[@]}"; do
  list=$(tar -tzf "$t")
  grep -q '^package/README.md$' <<<"$list" || { echo "pack-check: $(basename "$t") has no README.md"; exit 1; }
  grep -q '^package/dist/index.js$' <<<"$list" || { echo "pack-check: $(basename "$t") has no dist/index.js"; exit 1; }
  if grep -qE '\.spec\.(js|ts)$|^package/src/' <<<"$list"; then echo "pack-check: $(basename "$t") ships sources or specs"; exit 1; fi
done

TS_VERSION=$(node -p "require('$ROOT/node_modules/typescript/package.json').version")
TYPES_NODE_VERSION=$(node -p "require('$ROOT/node_modules/@types/node/package.json').version")

install_into() { # folder: the example copied out of the workspace, then the tarballs and tsc installed there
  local dir=$1
  (cd "$dir" && npm install "${NPM_FLAGS[@]}" "${TARBALLS[@]}" >/dev/null && npm install "${NPM_FLAGS[@]}" -D "typescript@$TS_VERSION" "@types/node@$TYPES_NODE_VERSION" >/dev/null)
  # Nothing may resolve back into the workspace: each @mteperm package is a real folder here.
  for p in "$dir"/node_modules/@mteperm/*; do
    [ -L "$p" ] && { echo "pack-check: $p is a link"; exit 1; }
  done
  return 0
}

# (a) a third-party policy, built and tested against the installed @mteperm/plugin-api
cp -r "$ROOT/examples/third-party-policy" "$WORK/policy"
rm -rf "$WORK/policy/dist" "$WORK/policy/node_modules"
install_into "$WORK/policy"
(cd "$WORK/policy" && npm run --silent build >"$WORK/policy-test.log" 2>&1 && npm test --silent >>"$WORK/policy-test.log" 2>&1) || { cat "$WORK/policy-test.log"; echo "pack-check: third-party policy build/test failed"; exit 1; }
echo "pack-check: third-party policy built and tested outside the workspace (node --test: $(grep -oE "^# pass [0-9]+" "$WORK/policy-test.log" | cut -d" " -f3) passed)"
out=$(cd "$WORK/policy" && npx --no-install mteperm run scenario.yaml --policy ./dist/src/index.js exit-to-vmm --json --log "$WORK/policy.mtelog")
node -e '
  const r = JSON.parse(process.argv[1]);
  const gzva = r.steps[6], stg = r.steps[7];
  // DOMAIN A.2.7: the page-cache DC GZVA gets tag storage and is retried; the anon STG just completes.
  if (gzva.outcome !== "retried" || stg.outcome !== "ok") { console.error("pack-check: unexpected outcomes", JSON.stringify([gzva, stg])); process.exit(1); }
' "$out"
echo "pack-check: mteperm run --policy ./dist/src/index.js: the DC GZVA to page cache was retried with tag storage"

# (b) a pipeline of cpufeature + pgtable + mmu on one bus
cp -r "$ROOT/examples/pipeline" "$WORK/pipeline"
rm -rf "$WORK/pipeline/dist" "$WORK/pipeline/node_modules"
install_into "$WORK/pipeline"
pipe=$(cd "$WORK/pipeline" && npm run --silent build && node dist/pipeline.js)
node -e '
  const r = JSON.parse(process.argv[1]);
  // DOMAIN A.2.3/A.2.5: the BAR maps NoTagAccess (MemAttr 0b1110 with FWB); the STG goes to the VMM.
  const ok = r.leaf && r.leaf.notagaccess === true && r.leaf.memattr === "0b1110" && r.decision === "exit-to-vmm" && r.hostMtePerm === true;
  if (!ok) { console.error("pack-check: unexpected pipeline result", JSON.stringify(r)); process.exit(1); }
' "$pipe"
echo "pack-check: pipeline (cpufeature, pgtable, mmu on one bus): BAR mapped NoTagAccess 0b1110, STG decided exit-to-vmm"
echo "pack-check: ok"
