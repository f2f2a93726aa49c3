#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the real inputs of the repository (blueprints/,
# sovereigns/, tests/bad-inputs/, schemas/crds/ with golden/ objects). Each seed is named by its SHA-1, as libFuzzer
# names the inputs it adds, so seeding twice adds nothing. Run `cargo fuzz cmin`
# afterwards to keep only the inputs that add coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus

# seed TARGET SELECTOR-BYTE FILE: the selector byte (empty for none) followed by the file.
seed() {
    local dir="$corpus/$1" tmp
    mkdir -p "$dir"
    tmp=$(mktemp)
    { [ -n "$2" ] && printf "\\x$2"; cat; } > "$tmp"
    mv "$tmp" "$dir/$(sha1sum "$tmp" | cut -d' ' -f1)"
}

inputs() { find blueprints sovereigns tests/bad-inputs -type f "$@" | sort; }

# (a) every YAML input, read as the kind it is (0 Blueprint, 1 Sovereign, 2 Organization).
for f in $(inputs -name '*.yaml'); do
    case "$f" in
        */sovereign.yaml) kind=01 ;;
        */organizations/*) kind=02 ;;
        *) kind=00 ;;
    esac
    seed yaml_input "$kind" < "$f"
done

# (b) every blueprint.yaml: its configSchema and overlays.
for f in $(inputs -name blueprint.yaml); do
    seed config_schema "" < "$f"
done

# (c) template files (mode 2), `when` conditions (mode 0) and `{{ }}` values strings (mode 1).
for f in $(inputs -path '*/templates/*'); do
    seed template 02 < "$f"
done
for f in $(inputs -name blueprint.yaml); do
    { grep -o 'when: .*' "$f" || true; } | sed -e 's/^when: //' -e 's/^"\(.*\)"$/\1/' | while IFS= read -r line; do
        printf '%s' "$line" | seed template 00
    done
    { grep -o '"[^"]*{{[^"]*"' "$f" || true; } | sed -e 's/^"//' -e 's/"$//' | while IFS= read -r line; do
        printf '%s' "$line" | seed template 01
    done
done

# (d) the whole compile is structure-aware: libFuzzer starts it from nothing.
mkdir -p "$corpus/compile"

# (e) CRD files: the built-in Catalyst CRDs, each followed by the objects the examples emit of its kind.
for f in schemas/crds/*.yaml; do
    seed crds "" < "$f"
    kind=$(grep -m1 -o 'kind: [A-Z][A-Za-z]*$' <(sed -n '/names:/,/versions:/p' "$f") | cut -d' ' -f2)
    for object in $(grep -rl "^kind: $kind$" golden | sort | head -3); do
        cat "$f" - "$object" <<< "---" | seed crds ""
    done
done

# (f) graph: the compile corpus, each behind a filter (an Environment, a focus, a depth).
mkdir -p "$corpus/graph"
for f in $(find "$corpus/compile" -type f | sort | head -200); do
    seed graph "" < <(printf '\x01\x05\x01\x02\x01'; cat "$f")
done

# (g) reconcile: each golden tree as `lint --built` reads it, whole and one cluster or repository at a time.
tree() { for f in $(cd "$1" && find . -type f | sed 's|^\./||' | sort); do printf '=== %s\n' "$f"; cat "$1/$f"; done; }
for dir in golden/*/; do
    tree "$dir" | seed reconcile ""
    for part in "$dir"clusters/* "$dir"system "$dir"repos/*/*; do
        (cd "$dir" && for f in $(find "${part#"$dir"}" -type f | sort); do printf '=== %s\n' "$f"; cat "$f"; done) | seed reconcile ""
    done
done
