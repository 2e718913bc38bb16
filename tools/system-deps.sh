#!/usr/bin/env bash
# System packages the test suite uses where a user has them: headless Chromium (HTML outputs), pdflatex
# (regression tables) and SLURM + munge (the cluster test). Installed with apt-get when running as root
# and missing; otherwise the tests that need them skip and say what to install.
set -u
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
command -v pdflatex >/dev/null 2>&1 || want+=(texlive-latex-base texlive-latex-recommended texlive-latex-extra)
command -v slurmctld >/dev/null 2>&1 || want+=(slurm-wlm munge)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; tests needing ${want[*]} will skip" >&2
  exit 0
fi
echo "system-deps: installing ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
(apt-get update -qq && apt-get install -y -qq --no-install-recommends "${want[@]}") >/tmp/wijkeffect-system-deps.log 2>&1 \
  || echo "system-deps: apt-get failed (see /tmp/wijkeffect-system-deps.log); those tests will skip" >&2
exit 0
