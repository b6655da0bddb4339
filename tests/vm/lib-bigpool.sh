# shellcheck shell=sh
# lib-bigpool.sh: a pool on a large sparse cache device at 64 KiB blocks
# (issue 17: real SSD sizes in little RAM), for 87-tib-pool (1 TiB, make
# check) and 90-4tib-pool (4 TiB, make check-full).  Source after lib.sh
# and lib-vwcache.sh with $ssd and $origin set to the disks (the origin
# at least 64 MiB), then call
#
#   big_pool_test TAG            RESULT lines are named TAG_...
#
# It checks: the kernel memory the pool takes (MemAvailable before and
# after, vmalloc and slab beside) is at most 1 GiB per TiB of cache
# device, all of it given back when the pool goes, and reported by the
# pool's sysfs ram_fixed_bytes and ram_block_bytes; create, clean load
# and dirty recovery times are printed as RESULT lines (no bound: timing
# belongs to make bench).  The dirty recovery keeps 256 dirty 64 KiB
# blocks, read back through a VM device.  4 KiB random writes through
# the pool are all absorbed by sub-blocks.
# shellcheck disable=SC2154 # blocks, used, kmem, secs: set by big_pool_create, timed_pool_create

_bp_sum() { md5sum | cut -d' ' -f1; }
_bp_now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# The pool's RAM as sysfs reports it against what the kernel allocated.
_bp_ram_reported() {
	_tag=$1
	# What the pool says it takes (sysfs, fixed and per block apart) is
	# what the kernel allocated meanwhile (vmalloc and slab), within 10 %;
	# not the MemAvailable drop, which moves with the page cache's
	# estimate (441 MiB against 491 MiB allocated in one run).
	_sysp=/sys/block/dm-$(dmsetup info -c --noheadings -o minor pool)/vwcache_pool
	_rf=$(cat "$_sysp/ram_fixed_bytes") _rb=$(cat "$_sysp/ram_block_bytes")
	_said=$(((_rf + _rb) / 1024))
	echo "RESULT ${_tag}_ram_reported_kib $_said fixed_kib $((_rf / 1024)) block_kib $((_rb / 1024)) bytes_per_block $((_rb / blocks))"
	if [ $((_said * 10)) -lt $((kmem * 9)) ] || [ $((_said * 10)) -gt $((kmem * 11)) ]; then
		fail "the pool reports $_said KiB of RAM, vmalloc and slab grew by $kmem KiB"
	fi
	dmcache-ctl pool-status pool >/tmp/ps 2>&1 || fail "pool-status: $(cat /tmp/ps)"
	grep -q "^  kernel RAM .* for the blocks (.* bytes a block), .* fixed$" /tmp/ps ||
		fail "pool-status shows no kernel RAM: $(cat /tmp/ps)"
}

# Clean load, N dirty blocks written, dirty recovery, read back.
_bp_load_and_recover() {
	_tag=$1 _n=$2
	timed_pool_create "$ssd"
	echo "RESULT ${_tag}_load_clean_s $secs"
	assert_eq "$(field 5 pool)" 0
	vm_create vm pool "$origin" "$_tag.vda"
	dd if=/tmp/data of=/dev/mapper/vm bs=65536 oflag=direct 2>/dev/null || fail "write vm"
	assert_eq "$(field 4 vm)" "$_n"
	dmsetup remove vm || fail "remove vm"
	dmsetup remove pool || fail "remove pool"

	timed_pool_create "$ssd"
	echo "RESULT ${_tag}_load_dirty_s $secs"
	assert_eq "$(field 5 pool)" "$_n"
	_t0=$(_bp_now_ms)
	vm_create vm pool "$origin" "$_tag.vda"
	echo "RESULT ${_tag}_attach_ms $(($(_bp_now_ms) - _t0))"
	assert_eq "$(dd if=/dev/mapper/vm bs=65536 count="$_n" iflag=direct 2>/dev/null | _bp_sum)" \
		"$(_bp_sum </tmp/data)"
	_t0=$(_bp_now_ms)
	dmsetup remove vm || fail "remove vm"
	echo "RESULT ${_tag}_detach_ms $(($(_bp_now_ms) - _t0))"
}

# 4 KiB random writes through the pool are absorbed (sub-blocks): write
# hits >= 99 %, no write reaches their origin (the second half of the
# disk, a dm-linear of its own, whose stat counts them) until writeback,
# which then writes 8 sectors for each.
_bp_absorb_4k() {
	_tag=$1
	echo 600000 >"/sys/block/dm-$(dmsetup info -c --noheadings -o minor pool)/vwcache_pool/max_age"
	_half=$(($(sectors "$origin") / 2))
	assert_ok dmsetup create o2 --table "0 $_half linear $origin $_half"
	vm_create vm2 pool /dev/mapper/o2 "$_tag-4k.vda"
	_o2=/sys/block/dm-$(dmsetup info -c --noheadings -o minor o2)/stat
	_w0=$(awk '{ print $5 }' "$_o2") _s0=$(awk '{ print $7 }' "$_o2")
	fio --name=w4k --filename=/dev/mapper/vm2 --direct=1 --ioengine=psync \
		--rw=randwrite --bs=4k --number_ios=1024 --randseed=87 --eta=never \
		--output=/tmp/fio.out || { cat /tmp/fio.out; fail "4 KiB writes"; }
	_w=$(field 7 vm2) _h=$(field 8 vm2)
	_ow=$(($(awk '{ print $5 }' "$_o2") - _w0))
	echo "RESULT ${_tag}_4k_writes $_w write_hits $_h origin_writes $_ow"
	[ $((_h * 100)) -ge $((_w * 99)) ] || fail "$_h of $_w 4 KiB writes absorbed"
	assert_eq "$_ow" 0 "origin writes before writeback"
	assert_ok dmsetup message vm2 0 flush
	wait_clean vm2 300
	_ws=$(($(awk '{ print $7 }' "$_o2") - _s0))
	echo "RESULT ${_tag}_4k_wb_sectors $_ws"
	assert_eq "$_ws" $((_w * 8)) "sectors written back for $_w 4 KiB writes"
	dmsetup remove vm2 || fail "remove vm2"
	dmsetup remove o2 || fail "remove o2"
}

big_pool_test() {
	_bp_tag=$1
	_bp_n=256 # dirty blocks
	vw_load_module
	zero_head "$ssd"
	head -c $((_bp_n * 65536)) /dev/urandom >/tmp/data	# before RAM is measured
	big_pool_create "$_bp_tag" "$ssd"
	_bp_ram_reported "$_bp_tag"
	big_pool_gone
	_bp_load_and_recover "$_bp_tag" "$_bp_n"
	_bp_absorb_4k "$_bp_tag"
	dmsetup remove pool || fail "remove pool"
	log "$(($(sectors "$ssd") / 2097152)) GiB at 64 KiB: $blocks blocks, $used KiB of RAM ($((used * 1024 / blocks)) bytes a block)"
}
