#!/bin/sh
# Installs what building and testing stockade needs on Debian 12 (as root).
# The one list of packages: README.md and .ci/run both call this.
set -eu

packages="
  meson ninja-build pkg-config gcc libc6-dev
  libseccomp-dev libcap-dev libyaml-dev libjson-c-dev libssl-dev
  libbpf-dev libelf-dev zlib1g-dev clang llvm bpftool
  libnl-route-3-dev libldns-dev libnftables-dev nftables dnsmasq-base
  check
  bubblewrap jq util-linux procps iproute2 groff-base
  python3 nodejs
"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the list is intended
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $packages
