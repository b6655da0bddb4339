#!/bin/sh
# A pool on a sparse 1 TiB cache device at 64 KiB blocks (issue 17: real
# SSD sizes in little RAM): RAM at most 1 GiB per TiB, measured and as
# sysfs reports it, all given back; create, clean load and dirty recovery
# times; 4 KiB random writes absorbed by sub-blocks.  The steps are
# lib-bigpool.sh's, shared with 90-4tib-pool (make check-full).
# vwtest-disks: 1x1T 1x64M
# vwtest-mem: 2048
# vwtest-timeout: 600
# shellcheck disable=SC1091,SC2034 # guest paths; ssd and origin: lib-bigpool.sh's
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh
. /lib/vwcache/lib-bigpool.sh

ssd=$(disk 0)
origin=$(disk 1)
big_pool_test tib
log "ok"
