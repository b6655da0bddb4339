#!/bin/sh
# The pool's vms file lists every attached VM device's vm_id, one a line,
# however long the listing (issue 15 item 11c: it was cut at one page).
# 100 VM devices with 64-character vm_ids, on dm-linear slices of one
# disk, make a 6.5 KiB listing: every vm_id is there exactly once, read
# whole or in small pieces; after half are removed only the others are.
# vwtest-disks: 1x64M 1x128M
# vwtest-timeout: 400
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

N=100
SLICE=2048	# sectors of each origin
ssd=$(disk 0)
org=$(disk 1)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
pd=$(dm_sys pool)/vwcache_pool

# vm_id of VM device $1: 64 characters, the most a vm_id has.
vm_id() {
	printf 'listing-%04d-%s' "$1" \
		0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNO
}
assert_eq "$(vm_id 1 | wc -c)" 64

for i in $(seq 1 $N); do
	dmsetup create "org$i" --table \
		"0 $SLICE linear $org $(((i - 1) * SLICE))" ||
		fail "dm-linear slice $i"
	vm_create "vm$i" pool "$(dm_dev_of "org$i")" "$(vm_id "$i")"
done
log "$N VM devices attached"

# check FIRST LAST: the listing holds the vm_ids of VM devices FIRST..LAST
# and nothing else, each once, whole and when read 100 bytes at a time.
check() {
	seq "$1" "$2" | while read -r i; do vm_id "$i"; echo; done | sort \
		>/tmp/want
	cat "$pd/vms" >/tmp/got || fail "read $pd/vms"
	log "vms: $(wc -c </tmp/got) bytes, $(wc -l </tmp/got) lines" \
		"(want $(wc -c </tmp/want) bytes, $(wc -l </tmp/want) lines)"
	sort /tmp/got | cmp -s - /tmp/want ||
		fail "vms lists $(wc -l </tmp/got) of $(wc -l </tmp/want) vm_ids; missing: $(sort /tmp/got | grep -vxF -f - /tmp/want | head -n 3 | tr "\n" " ")"
	dd if="$pd/vms" bs=100 2>/dev/null | cmp -s - /tmp/got ||
		fail "vms read 100 bytes at a time differs from a whole read"
}

check 1 $N
[ "$(wc -c </tmp/got)" -gt 4096 ] || fail "the listing is not over a page"

for i in $(seq 1 $((N / 2))); do
	dmsetup remove "vm$i" || fail "remove vm$i"
done
check $((N / 2 + 1)) $N

for i in $(seq $((N / 2 + 1)) $N); do
	dmsetup remove "vm$i" || fail "remove vm$i"
done
[ -z "$(cat "$pd/vms")" ] ||
	fail "vms not empty with no VM device: $(head -c 200 "$pd/vms")"
dmsetup remove pool || fail "remove pool"
for i in $(seq 1 $N); do
	dmsetup remove "org$i" || fail "remove org$i"
done
log "ok"
