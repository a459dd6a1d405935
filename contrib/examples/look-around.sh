#!/bin/sh
# What an untrusted script sees from inside a stockade sandbox.
# Run it with:  stockade run contrib/examples/look-around.sh

say() { printf '%-28s %s\n' "$1" "$2"; }
try() { if "$@" >/dev/null 2>&1; then echo "allowed"; else echo "denied"; fi; }

echo "== identity"
say "uid/gid" "$(id -u)/$(id -g)"
say "hostname" "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
say "capabilities (effective)" "$(grep CapEff /proc/self/status | cut -f2)"
say "capabilities (bounding)" "$(grep CapBnd /proc/self/status | cut -f2)"
say "no_new_privs" "$(grep NoNewPrivs /proc/self/status | cut -f2)"
say "seccomp mode" "$(grep '^Seccomp:' /proc/self/status | cut -f2) (2 = filter)"

echo "== processes and network"
say "pids visible" "$(ls /proc | grep -E '^[0-9]+$' | tr '\n' ' ')"
say "interfaces" "$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
say "environment" "$(env | cut -d= -f1 | sort | tr '\n' ' ')"

echo "== filesystem"
say "/ contains" "$(ls / | tr '\n' ' ')"
say "read /etc/passwd" "$(try cat /etc/passwd)"
say "read /etc/shadow" "$(if [ -s /etc/shadow ] && cat /etc/shadow >/dev/null 2>&1; then echo allowed; else echo "denied (masked)"; fi)"
say "see /root /home /run /var" "$(for d in /root /home /run /var; do [ -e "$d" ] && printf '%s ' "$d"; done; echo)"
say "write /usr" "$(try touch /usr/stockade-probe)"
say "write /" "$(try touch /stockade-probe)"
say "write /tmp" "$(try touch /tmp/stockade-probe)"
say "/tmp size" "$(df -h /tmp 2>/dev/null | awk 'NR==2 {print $2}')"

echo "== limits"
say "mount a tmpfs" "$(try mount -t tmpfs none /tmp)"
say "unshare a namespace" "$(try unshare -n true)"
