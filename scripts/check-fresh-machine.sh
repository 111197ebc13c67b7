#!/usr/bin/env bash
# Checks that the README's first two commands work on a fresh, minimal Debian 12 machine:
#   sudo bash scripts/check-fresh-machine.sh
#
# Makes a minimal Debian 12 root (`debootstrap --variant=minbase bookworm`) from the Debian mirror
# named in this machine's apt sources, puts a clean clone of this checkout's HEAD (so uncommitted
# files cannot hide a problem) and a copy of ../shared into it side by side, and runs
# `bash scripts/demo.sh` and then `bash scripts/test.sh` inside it with chroot and a clean
# environment (only HOME, PATH and LANG). Exits nonzero naming the command that failed and showing
# the end of its log. Needs root and network access to the mirror; installs debootstrap if missing.
#
# The base root is downloaded once and kept as a tarball in $MADDNESS_FRESH_CACHE
# (/var/cache/maddness-fresh-root by default); each run unpacks it into a new folder under
# $MADDNESS_FRESH_WORK (/var/tmp by default), which is unmounted and removed on every exit,
# Ctrl-C included. MADDNESS_FRESH_MIRROR=URL overrides the mirror read from the apt sources.
set -euo pipefail

me=check-fresh-machine
suite=bookworm

if [[ $(id -u) -ne 0 ]]; then
  echo "$me: must run as root (debootstrap, mount and chroot need it): sudo bash $0" >&2
  exit 1
fi

# Everything below runs in a private mount namespace, so that the mounts of the root never show up
# in, or propagate into, the host's mount table.
if [[ -z ${MADDNESS_FRESH_IN_NAMESPACE:-} ]]; then
  export MADDNESS_FRESH_IN_NAMESPACE=1
  exec unshare --mount --propagation private -- bash "$0" "$@"
fi

project=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ! -d $project/../shared ]]; then
  echo "$me: ../shared (beside $project) is missing; the tests read their data from it" >&2
  exit 1
fi
shared=$(cd "$project/../shared" && pwd -P)
cache=${MADDNESS_FRESH_CACHE:-/var/cache/maddness-fresh-root}
base=$cache/$suite-minbase.tar
work_parent=${MADDNESS_FRESH_WORK:-/var/tmp}
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
chroot_bin=$(command -v chroot)

for tool in git tar unshare findmnt; do
  if ! command -v "$tool" >/dev/null; then
    echo "$me: '$tool' is needed on this machine and was not found" >&2
    exit 1
  fi
done
head=$(git -C "$project" rev-parse HEAD)

# seconds_since START: whole seconds elapsed since START (from $SECONDS).
seconds_since() { echo $((SECONDS - $1))s; }

# The first `deb` URI of this machine's apt sources whose suites include $suite: one-line
# sources.list files, then deb822 .sources files (Types/URIs/Suites/Enabled fields).
host_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $file ]] || continue
    awk -v suite="$suite" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) print $i
      }' "$file"
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f $file ]] || continue
    awk -v suite="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        delete field; key = ""
        for (n = 1; n <= NF; n++) {
          line = $n
          if (line ~ /^#/) continue
          if (line ~ /^[ \t]/ && key != "") { field[key] = field[key] " " line; continue }
          colon = index(line, ":")
          if (colon == 0) continue
          key = tolower(substr(line, 1, colon - 1))
          field[key] = substr(line, colon + 1)
        }
        if (tolower(field["enabled"]) ~ /no/) next
        if (split(field["types"], types, /[ \t]+/) == 0) next
        is_deb = 0
        for (t in types) if (types[t] == "deb") is_deb = 1
        if (!is_deb) next
        has_suite = 0
        split(field["suites"], suites, /[ \t]+/)
        for (s in suites) if (suites[s] == suite) has_suite = 1
        if (!has_suite) next
        split(field["uris"], uris, /[ \t]+/)
        for (u = 1; u in uris; u++) if (uris[u] != "") { print uris[u]; break }
      }' "$file"
  done
}

mirror=${MADDNESS_FRESH_MIRROR:-$(host_mirror | head -n 1)}
if [[ -z $mirror ]]; then
  echo "$me: no 'deb' source for suite $suite in /etc/apt/sources.list or" \
    "/etc/apt/sources.list.d/; set MADDNESS_FRESH_MIRROR to a Debian mirror URL" >&2
  exit 1
fi

work=
root=
log_dir=
# Processes whose root folder is the chroot (a test's leftover MPI daemon, say) are ended before
# anything is unmounted.
end_chroot_processes() {
  local signal proc pids
  for signal in TERM KILL; do
    pids=()
    for proc in /proc/[0-9]*; do
      if [[ $(readlink "$proc/root" 2>/dev/null) == "$root" ]]; then
        pids+=("${proc#/proc/}")
      fi
    done
    [[ ${#pids[@]} -eq 0 ]] && return 0
    kill -s "$signal" "${pids[@]}" 2>/dev/null || true
    sleep 2
  done
}
# unmount_below FOLDER: unmounts everything mounted below FOLDER, deepest first, lazily if busy;
# fails if something is still mounted there.
unmount_below() {
  local target
  findmnt -rn -o TARGET | grep -F "$1/" | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target"
  done
  ! findmnt -rn -o TARGET | grep -qF "$1/"
}
cleanup() {
  local status=$?
  set +e
  trap - EXIT
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
  if [[ -n $root ]]; then
    end_chroot_processes
  fi
  if [[ -n $work ]]; then
    if unmount_below "$work"; then
      rm -rf --one-file-system "$work"
    else
      echo "$me: could not unmount everything below $work; left it in place" >&2
      status=1
    fi
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo "$me: interrupted; cleaning up" >&2; exit 130' INT
trap 'echo "$me: terminated; cleaning up" >&2; exit 143' TERM

started=$SECONDS

# debootstrap itself, from Debian.
if ! command -v debootstrap >/dev/null; then
  echo "$me: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=1 update -qq ||
    DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=1 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=1 install -y -qq \
    --no-install-recommends debootstrap
fi

# The cached base root: made once (a download of about 40 MB), then reused. The lock on the cache
# folder keeps two runs from making it at the same time.
mkdir -p "$cache"
exec 9<"$cache"
flock 9
if [[ ! -f $base ]]; then
  step=$SECONDS
  echo "$me: making the base Debian 12 root from $mirror (once; cached in $base)" >&2
  made=0
  for attempt in 1 2; do  # a second attempt after a network error
    work=$(mktemp -d "$cache/debootstrap.XXXXXX")  # removed by cleanup if interrupted
    if debootstrap --variant=minbase "$suite" "$work/root" "$mirror" >"$work/log" 2>&1; then
      made=1
      break
    fi
    echo "$me: debootstrap failed (attempt $attempt); its log ends with:" >&2
    tail -n 20 "$work/log" >&2
    unmount_below "$work" && rm -rf --one-file-system "$work"
    work=
  done
  if [[ $made -ne 1 ]]; then
    exit 1
  fi
  tar --numeric-owner -C "$work/root" -cf "$work/base.tar" .
  mv "$work/base.tar" "$base"
  rm -rf --one-file-system "$work"
  work=
  echo "$me: base root made in $(seconds_since "$step")" >&2
fi
flock -u 9
exec 9<&-

# This run's root, unpacked from the base.
step=$SECONDS
work=$(mktemp -d "$work_parent/maddness-fresh-root.XXXXXX")
root=$work/root
log_dir=$work/logs
mkdir -p "$root" "$log_dir"
tar --numeric-owner -C "$root" -xpf "$base"

# How this machine reaches its Debian mirror: name resolution, apt sources and the keys and
# acquire settings (proxy, retries, validity) they need. The root's own sources.list from
# debootstrap is replaced so that no source is listed twice.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# The host name in /etc/hosts, as Debian's installer writes it (debootstrap writes no
# /etc/hosts): without it every lookup of the machine's own name goes to the DNS server, and
# Open MPI, which looks it up in each rank, took 2-3 s per rank to start (the MPI test then ran
# for 5 minutes instead of 40 s).
host=$(hostname)
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  "$host" >"$root/etc/hosts"
echo "$host" >"$root/etc/hostname"
rm -f "$root/etc/apt/sources.list"
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -f $file ]] && cp "$file" "$root$file"
done
for file in /etc/apt/trusted.gpg /etc/apt/trusted.gpg.d/*; do
  [[ -f $file ]] && cp "$file" "$root$file"
done
while read -r keyring; do
  if [[ -f $keyring && ! -e $root$keyring ]]; then
    mkdir -p "$root$(dirname "$keyring")"
    cp "$keyring" "$root$keyring"
  fi
done < <(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null |
  grep -oiE '(signed-by[=:][[:space:]]*)/[^] ,]+' | sed -E 's/^[^/]*//')
for file in /etc/apt/apt.conf.d/*; do
  [[ -f $file ]] && grep -q 'Acquire' "$file" && cp "$file" "$root$file"
done
# Package scripts must not start services inside the root.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# dpkg need not sync every file it unpacks into a root that is thrown away (minutes faster).
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/maddness-fresh-unsafe-io"

# The checkout and ../shared, side by side as on this machine.
mkdir -p "$root/root/work"
git clone --quiet --no-hardlinks "$project" "$root/root/work/maddness"
git -C "$root/root/work/maddness" checkout --quiet --detach "$head"
cp -a "$shared" "$root/root/work/shared"
echo "$me: root ready (commit ${head:0:12}) in $(seconds_since "$step")" >&2

# /proc, /sys and /dev (with /dev/pts and /dev/shm, which MPI and Python's multiprocessing use).
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"

# run_in_root NAME COMMAND: runs COMMAND with bash in the root's checkout, output into
# $log_dir/NAME.log; on failure, names the command and shows the end of its log.
run_in_root() {
  local name=$1 command=$2 step=$SECONDS status=0
  echo "$me: running '$command' in the fresh root" >&2
  # Its own process group in the background, so that Ctrl-C reaches the trap at once.
  setsid env -i HOME=/root PATH="$path" LANG=C.UTF-8 \
    "$chroot_bin" "$root" /bin/bash -c "cd /root/work/maddness && $command" \
    >"$log_dir/$name.log" 2>&1 </dev/null &
  wait $! || status=$?
  if [[ $status -ne 0 ]]; then
    echo "$me: FAILED: '$command' (exit status $status) on a fresh Debian 12;" \
      "the last 60 lines of its output:" >&2
    tail -n 60 "$log_dir/$name.log" >&2
    exit 1
  fi
  echo "$me: '$command' passed in $(seconds_since "$step")" >&2
}
run_in_root demo "bash scripts/demo.sh"
run_in_root test "bash scripts/test.sh"

# A test skipped for a missing tool or Python module would hide a missing package: only the
# forced-SIMD-target tests may skip (on CPUs without that target). ctest lists skipped tests at
# the end of its output; pytest's summary line is in ctest's full log.
skipped=$(sed -n '/tests did not run/,/^$/p' "$log_dir/test.log" | grep -F '(Skipped)' |
  grep -vF 'forced_target_' || true)
pytest_summary=$(grep -hE '[0-9]+ passed.* in [0-9.]+s' \
  "$root/root/work/maddness/build/Testing/Temporary/LastTest.log" 2>/dev/null || true)
echo "$me: pytest: ${pytest_summary:-no summary line found}" >&2
if [[ -n $skipped || -z $pytest_summary || $pytest_summary == *skipped* ]]; then
  echo "$me: FAILED: 'bash scripts/test.sh' passed on a fresh Debian 12 but skipped tests" \
    "(a package missing from scripts/install-deps.sh?):" >&2
  [[ -n $skipped ]] && echo "$skipped" >&2
  exit 1
fi
echo "$me: both README commands passed on a fresh Debian 12 in $(seconds_since "$started")" >&2
