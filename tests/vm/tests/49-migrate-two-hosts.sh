#!/bin/sh
# A live migration between two hosts on shared storage, as three boots on
# the same disks: vda is host A's SSD, vdb the VM's origin on shared
# storage, vdc a note pad between the boots, vdd the origin of another VM
# of host A.
#  boot 1, host A: pool + VM device, a verified pattern written and read
#    (clean copies cached), migrate_prepare under a writer reaches clean
#    while another VM writes too (none of its dirty blocks is written
#    back), VM device and origin read back identical, removal leaves no
#    block;
#  boot 2, host B: the origin alone holds A's data; B overwrites part;
#  boot 3, host A again: the pool recovers, the same vm_id attaches and
#    reads B's data, never its own old cached copies.
# vwtest-disks: 1x256M 1x128M 1x1M 1x64M
# vwtest-boots: 3
# vwtest-timeout: 240
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
notes=$(disk 2)
MB=32
boot=$(sed -n 's/.*vwboot=\([0-9]*\).*/\1/p' /proc/cmdline)
log "boot $boot"

note_put() { printf '%s\n' "$@" | dd of="$notes" bs=4096 count=1 conv=sync,fsync 2>/dev/null || fail "notes"; }
note_get() { dd if="$notes" bs=4096 count=1 2>/dev/null | tr -d '\0' | sed -n "${1}p"; }
sum_of() { dd if="$1" bs=1M count=$MB iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; }

case $boot in
1)
	vw_load_module
	zero_head "$ssd"
	pool_create pool "$ssd" 4096 max_age 0
	vm_create vm1 pool "$origin" web-01.vda
	vm_create vm2 pool "$(disk 3)" db-01.vda
	fio --name=a --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
		--iodepth=8 --rw=randwrite --bs=4k --size=${MB}m \
		--verify=crc32c --do_verify=1 --verify_fatal=1 \
		--output=/tmp/a.out || { cat /tmp/a.out; fail "fio a"; }
	# Read it all twice more: hot reads get promoted, blocks stay cached.
	sum_of /dev/mapper/vm1 >/dev/null
	sum_of /dev/mapper/vm1 >/dev/null
	log "before migrate_prepare: $(dmsetup status vm1)"
	[ "$(field 4 vm1)" -gt 0 ] || fail "nothing dirty to migrate"
	# A writer keeps going in the first half while the migration flush
	# runs (in writethrough its writes drop the clean copies they hit).
	fio --name=w --filename=/dev/mapper/vm1 --direct=1 --ioengine=libaio \
		--iodepth=4 --rw=randwrite --bs=4k --size=$((MB / 2))m --offset=0 \
		--time_based --runtime=6 --randseed=3 >/dev/null 2>&1 &
	wpid=$!
	# So does another VM, whose dirty data must stay where it is.
	fio --name=o --filename=/dev/mapper/vm2 --direct=1 --ioengine=libaio \
		--iodepth=4 --rw=randwrite --bs=4k --size=16m \
		--time_based --runtime=6 >/dev/null 2>&1 &
	opid=$!
	sleep 1
	assert_ok dmsetup message vm1 0 migrate_prepare
	wait $wpid || fail "writer during migrate_prepare"
	wait $opid || fail "the other VM's writer"
	wait_state vm1 clean 60
	log "clean: $(dmsetup status vm1)"
	assert_eq "$(field 4 vm1)" 0
	[ "$(field 3 vm1)" -gt 0 ] || fail "no clean copies cached: the test proves nothing"
	a=$(sum_of /dev/mapper/vm1)
	assert_eq "$(sum_of "$origin")" "$a" "origin after clean"
	log "the other VM: $(dmsetup status vm2)"
	[ "$(field 4 vm2)" -gt 0 ] || fail "the other VM has nothing dirty"
	assert_eq "$(field 10 vm2)" 0 "blocks of the other VM written back"
	others=$(field 3 vm2)
	assert_ok dmsetup remove vm1
	assert_eq "$(field 4 pool)" $(($(field 3 pool) - others)) \
		"free blocks after removing a clean VM"
	assert_ok dmsetup message vm2 0 flush
	wait_clean vm2
	assert_ok dmsetup remove vm2
	assert_eq "$(field 4 pool)" "$(field 3 pool)" "free blocks at the end"
	assert_ok dmsetup remove pool
	note_put "$a"
	;;
2)
	a=$(note_get 1)
	[ -n "$a" ] || fail "no note from host A"
	assert_eq "$(sum_of "$origin")" "$a" "host B reads host A's data on the origin"
	dd if=/dev/urandom of="$origin" bs=4k count=2048 seek=1024 \
		oflag=direct conv=fsync 2>/dev/null || fail "host B's write"
	b=$(sum_of "$origin")
	assert_ne "$b" "$a"
	note_put "$a" "$b"
	;;
3)
	b=$(note_get 2)
	[ -n "$b" ] || fail "no note from host B"
	vw_load_module
	pool_create pool "$ssd" 4096 max_age 0
	assert_eq "$(field 5 pool)" 0 "dirty blocks in the recovered pool"
	vm_create vm1 pool "$origin" web-01.vda
	assert_eq "$(field 3 vm1)" 0 "blocks cached for the vm_id on its return"
	assert_eq "$(sum_of /dev/mapper/vm1)" "$b" "VM device after the return"
	assert_eq "$(sum_of /dev/mapper/vm1)" "$b" "VM device, read again"
	log "back on host A: $(dmsetup status vm1)"
	assert_ok dmsetup remove vm1
	assert_ok dmsetup remove pool
	;;
*)
	fail "no vwboot in /proc/cmdline"
	;;
esac
