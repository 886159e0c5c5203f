#!/usr/bin/env bash
# Installs what idbroker needs to build and test on Debian, skipping whatever is already there.
# Safe to run again. Uses sudo when not root.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)   # certs/make-dev-tls.sh and its tests
# SAML (samael with xmlsec): libxmlsec1/libxml2 headers, libclang for bindgen, the xmlsec1 tool.
pkg-config --exists xmlsec1 2>/dev/null || need_apt+=(libxmlsec1-dev libxml2-dev)
# bindgen loads libclang.so / libclang-N.so; libclang-cpp.so (present on some machines) is not it.
[ -n "$(ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* /usr/lib/*/libclang-[0-9]*.so* 2>/dev/null | head -n 1)" ] || need_apt+=(libclang-dev)
command -v xmlsec1 >/dev/null 2>&1 || need_apt+=(xmlsec1)
# The SAML tests' IdP (tests/saml/mint.py) is Python.
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3 python3-pip)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing the Rust toolchain with rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
echo "setup: ok ($(cargo --version))"
