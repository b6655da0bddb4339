#!/bin/sh
# Formatting does not zero the entries (VWC_FEATURE_INCOMPAT_LAZY_ENTRIES,
# issue 17 item 4): a pool made again on a device that held one, whose old
# entries and random bytes are still there, starts empty and clean; the
# watermark of initialised entry pages rises only as far as blocks were
# used; dirty data written over the old bytes is kept across a reload and
# a removal, and dmcache-ctl check finds no damage.  A pool of 16 KiB
# blocks on the same device then does the same from a watermark of zero.
# vwtest-disks: 1x256M 1x64M
# vwtest-timeout: 240
# shellcheck disable=SC1091,SC2046 # guest paths; set -- $(pages) splits on purpose
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
vw_load_module

# pages WHAT: "N M" from "entry pages read: N of M" of vwc-damage info.
pages() {
	vwc-damage info "$ssd" >/tmp/info 2>&1 || fail "vwc-damage info: $(cat /tmp/info)"
	grep -q "^entry pages read: .* (lazy)$" /tmp/info ||
		fail "$1: pool not lazy: $(grep '^entry pages' /tmp/info)"
	sed -n 's/^entry pages read: \([0-9]*\) of \([0-9]*\).*/\1 \2/p' /tmp/info
}

check_clean() {
	dmcache-ctl check "$ssd" --force >/tmp/ck 2>&1 || fail "$1: check: $(cat /tmp/ck)"
	grep -q ", 0 damaged, 0 orphaned, 0 duplicate" /tmp/ck ||
		fail "$1: check: $(cat /tmp/ck)"
}

# 1. A pool full of dirty entries (16 MiB: 4096 blocks, 16 entry pages).
zero_head "$ssd"
pool_create pool "$ssd" 4096 high_watermark 95
set -- $(pages "fresh pool")
assert_eq "$1" 0 "entry pages read by a pool never committed to"
total_pages=$2
vm_create vm1 pool "$origin" old-vm
dd if=/dev/urandom of=/dev/mapper/vm1 bs=1M count=16 oflag=direct 2>/dev/null ||
	fail "write 16 MiB"
flush_dev /dev/mapper/vm1 || fail "flush"
set -- $(pages "after 4096 dirty blocks")
log "entry pages read after 4096 blocks: $1 of $2"
[ "$1" -ge 16 ] && [ "$1" -lt "$total_pages" ] ||
	fail "watermark $1: not between 16 and $total_pages"
dmsetup remove vm1 && dmsetup remove pool || fail "remove"

# 2. Random bytes over the 16 pages after the old ones, then made again.
entries=$(vwc-damage info "$ssd" | sed -n 's/.* entries_start \([0-9]*\) .*/\1/p')
[ -n "$entries" ] || fail "no entries_start"
dd if=/dev/urandom of="$ssd" bs=4096 seek=$((entries / 8 + 16)) count=16 \
	conv=notrunc,fsync 2>/dev/null || fail "random bytes"
zero_head "$ssd"
t0=$(date +%s)
pool_create pool "$ssd" 4096
log "RESULT format over an old pool: $(($(date +%s) - t0)) s"
assert_eq "$(field 5 pool)" 0 "dirty blocks of the new pool"
assert_eq "$(field 4 pool)" "$(field 3 pool)" "free blocks of the new pool"
set -- $(pages "pool made again")
assert_eq "$1" 0 "entry pages read by the new pool"
check_clean "pool made again"
grep -q "^entries: 0 valid" /tmp/ck || fail "old entries counted: $(cat /tmp/ck)"

# 3. Dirty data over the old bytes: model-checked through a reload.
vm_create vm1 pool "$origin" new-vm
vwc-model --quiet --seed 24 --ops 3000 --mix 30,60,5,5 --max-io 64k \
	--state /tmp/m.state /dev/mapper/vm1 >/tmp/model.out 2>&1 ||
	fail "model: $(cat /tmp/model.out)"
flush_dev /dev/mapper/vm1 || fail "flush"
dirty=$(field 5 pool)
[ "$dirty" -gt 0 ] || fail "no dirty block to keep"
set -- $(pages "after the model")
log "entry pages read after the model: $1 of $2 ($dirty dirty blocks)"
[ "$1" -gt 0 ] && [ "$1" -lt "$2" ] || fail "watermark $1 of $2"
dmsetup remove vm1 && dmsetup remove pool || fail "remove"
check_clean "after the model"
pool_create pool "$ssd" 4096
assert_eq "$(field 5 pool)" "$dirty" "dirty blocks after a reload"
vm_create vm1 pool "$origin" new-vm
vwc-model --quiet --verify-only --load /tmp/m.state /dev/mapper/vm1 \
	>/tmp/model.out 2>&1 || fail "verify after reload: $(cat /tmp/model.out)"
dmsetup remove vm1 && dmsetup remove pool || fail "remove"

# 4. 16 KiB blocks on the same device: its own layout over all of that.
zero_head "$ssd"
pool_create pool "$ssd" 16384
set -- $(pages "16 KiB pool")
assert_eq "$1" 0 "entry pages read by the 16 KiB pool"
check_clean "16 KiB pool"
vm_create vm1 pool "$origin" big-vm
vwc-model --quiet --seed 25 --ops 2000 --mix 30,60,5,5 --max-io 64k \
	--state /tmp/m.state /dev/mapper/vm1 >/tmp/model.out 2>&1 ||
	fail "model 16 KiB: $(cat /tmp/model.out)"
flush_dev /dev/mapper/vm1 || fail "flush"
dmsetup remove vm1 && dmsetup remove pool || fail "remove"
check_clean "16 KiB pool after the model"
pool_create pool "$ssd" 16384
vm_create vm1 pool "$origin" big-vm
vwc-model --quiet --verify-only --load /tmp/m.state /dev/mapper/vm1 \
	>/tmp/model.out 2>&1 || fail "verify 16 KiB: $(cat /tmp/model.out)"
dmsetup remove vm1 && dmsetup remove pool || fail "remove"
log "lazy format ok"
