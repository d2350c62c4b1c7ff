# shellcheck shell=bash
# Sourced by the setup scripts: runs as root or through sudo, one apt-get at a time across scripts.
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# apt_install [apt-get install options] PACKAGE...: refreshes the package lists, then installs quietly.
apt_install() {
  flock /tmp/apt.lock $SUDO sh -c 'apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null' apt_install "$@"
}
