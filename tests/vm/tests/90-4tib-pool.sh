#!/bin/sh
# 87-tib-pool's checks on a sparse 4 TiB cache device at 64 KiB blocks
# (issue 17: a 4 TiB pool in make check-full): RAM at most 1 GiB per TiB,
# measured and as sysfs reports it, all given back; create, clean load
# and dirty recovery times; 4 KiB random writes absorbed by sub-blocks.
# About 67 million blocks at some 42 bytes: 2.7 GiB of the guest's 5.
# vwtest-disks: 1x4T 1x64M
# vwtest-mem: 5120
# vwtest-timeout: 1200
# vwtest-full: yes
# shellcheck disable=SC1091,SC2034 # guest paths; ssd and origin: lib-bigpool.sh's
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh
. /lib/vwcache/lib-bigpool.sh

ssd=$(disk 0)
origin=$(disk 1)
big_pool_test tib4
log "ok"
