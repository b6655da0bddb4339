#!/bin/sh
# cache_quota: VM A writing and reading far past its quota never holds
# more than its quota and never evicts VM B's blocks (B's 2000 cached
# blocks stay cached: all read hits); A writes back and drops its own
# blocks instead, and its data stays right; a lowered quota shrinks A.
# vwtest-disks: 1x256M 1x128M 1x128M
# vwtest-timeout: 300
# vwtest-exclusive: yes
# shellcheck disable=SC2086 # lists of words
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096 max_age 0
vm_create vmb pool "$(disk 2)" guest-b.vda
vm_create vma pool "$(disk 1)" guest-a.vda cache_quota 1000
a=$(dm_sys vma)/vwcache
b=$(dm_sys vmb)/vwcache

# B: 2000 blocks, written back so that they are clean (evictable).
fio --name=b --filename=/dev/mapper/vmb --direct=1 --ioengine=libaio \
	--iodepth=8 --rw=write --bs=4k --size=8000k >/dev/null ||
	fail "fio b"
assert_ok dmsetup message vmb 0 flush
wait_clean vmb
assert_eq "$(cat $b/cached_blocks)" 2000

# A: 12000 random 4 KiB writes over 64 MiB, verified; A's occupancy is
# sampled meanwhile.
(
	while [ ! -e /tmp/a.done ]; do
		cat $a/cached_blocks
		sleep 0.2
	done
) >/tmp/a.samples &
spid=$!
fio --name=a --filename=/dev/mapper/vma --direct=1 --ioengine=libaio \
	--iodepth=16 --rw=randwrite --bs=4k --size=64m --number_ios=12000 \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --randseed=7 \
	--output=/tmp/a.out || { cat /tmp/a.out; fail "fio a"; }
touch /tmp/a.done
wait $spid
max=$(sort -n /tmp/a.samples | tail -n 1)
log "A: $(dmsetup status vma) (largest occupancy seen: $max)"
log "B: $(dmsetup status vmb)"
[ "$max" -le 1000 ] || fail "A held $max blocks, quota 1000"
[ "$(cat $a/cached_blocks)" -le 1000 ] || fail "A over its quota"
[ "$(cat $a/stats/writeback_blocks)" -gt 0 ] || fail "A wrote nothing back"
[ "$(cat $a/cached_blocks)" -gt 500 ] || fail "A does not use its quota: $(cat $a/cached_blocks)"
assert_eq "$(cat $b/cached_blocks)" 2000

# B's blocks are all still there: reading them all hits.
h0=$(cat $b/stats/read_hits)
fio --name=br --filename=/dev/mapper/vmb --direct=1 --ioengine=psync \
	--rw=read --bs=4k --size=8000k >/dev/null || fail "fio br"
assert_eq $(($(cat $b/stats/read_hits) - h0)) 2000

# A lowered quota: A shrinks to it as it goes on writing.
echo 300 >$a/limits/cache_quota || fail "lowering the quota"
fio --name=a2 --filename=/dev/mapper/vma --direct=1 --ioengine=libaio \
	--iodepth=16 --rw=randwrite --bs=4k --size=64m --number_ios=4000 \
	--randseed=8 >/dev/null || fail "fio a2"
log "A after the quota went to 300: $(dmsetup status vma)"
[ "$(cat $a/cached_blocks)" -le 300 ] || fail "A holds $(cat $a/cached_blocks) blocks, quota 300"
assert_eq "$(cat $b/cached_blocks)" 2000

# The data of both is right on their origins once written back.
assert_ok dmsetup message vma 0 flush
wait_clean vma
assert_ok dmsetup message vmb 0 flush
wait_clean vmb
for v in vma:1 vmb:2; do
	x=$(md5sum </dev/mapper/${v%:*})
	y=$(md5sum <"$(disk ${v#*:})")
	assert_eq "$x" "$y" "${v%:*} and its origin"
done
dmsetup remove vma vmb || fail "remove"
dmsetup remove pool || fail "remove pool"
