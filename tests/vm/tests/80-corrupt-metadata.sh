#!/bin/sh
# Corrupt metadata: a formatted pool holding dirty data of two VMs is
# damaged on purpose (tests/tools/vwc-damage crafts records with valid
# checksums through the module's own format code) and at random, and
# loaded.  Each load is refused with a clear ti->error (read back from the
# kernel log) without writing anything to the cache device, or recovers
# what is provably intact (one good superblock copy): then every block of
# both VM devices is checked, and none may carry another VM's data.  No
# oops (init checks the kernel log).
#
# make check: the fixed cases and 10 random ones; vwfull=1: 400 random.
# vwtest-disks: 1x16M 1x16M 1x16M 1x16M
# vwtest-timeout: 1200
# shellcheck disable=SC1091
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
oa=$(disk 1)
ob=$(disk 2)
ox=$(disk 3)
S=$(sectors "$ssd")
N=60 # dirty blocks per VM: 120, so the first entry page (128) has free ones
RANDOM_CASES=10
ONE_COPY=3 # field cases also tried on one copy only (that one must load)
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	RANDOM_CASES=400
	ONE_COPY=99
fi
command -v vwc-damage >/dev/null || fail "vwc-damage not in the guest"
D=vwc-damage

vw_load_module
zero_head "$ssd"
$D tag-write "$oa" a0 0 4096 || fail "tagging origin a"
$D tag-write "$ob" b0 0 4096 || fail "tagging origin b"
$D tag-write "$ox" x0 0 4096 || fail "tagging origin x"

# The pool: vm-x (slot 0, no data), vm-a (slot 1) and vm-b (slot 2) with
# N dirty blocks each, clean shutdown.
pool_create pool "$ssd" 4096 high_watermark 90 low_watermark 10 max_age 0
vm_create vmx pool "$ox" vm-x
vm_create vma pool "$oa" vm-a
vm_create vmb pool "$ob" vm-b
$D tag-write /dev/mapper/vma a1 0 $N || fail "writing vma"
$D tag-write /dev/mapper/vmb b1 0 $N || fail "writing vmb"
assert_eq "$(field 4 vma)" $N "dirty blocks of vma"
dmsetup remove vmx && dmsetup remove vma && dmsetup remove vmb &&
	dmsetup remove pool || fail "removing the pool"
M=$($D meta-sectors "$ssd") || fail "reading the pool"
$D info "$ssd"
dd if="$ssd" of=/tmp/meta.img bs=512 count="$M" 2>/dev/null || fail "saving the metadata"
slot_a=$($D entry-list "$ssd" | awk '$3 == "vm-a" { print $2; exit }')
slot_b=$($D entry-list "$ssd" | awk '$3 == "vm-b" { print $2; exit }')
first_a=$($D entry-list "$ssd" | awk '$3 == "vm-a" { print $1; exit }')
nr_blocks=$($D info "$ssd" | sed -n 's/.* nr_blocks \([0-9]*\) .*/\1/p')
# Entry pages a load reads (lazy pools: those initialised so far).
pages=$($D info "$ssd" | sed -n 's/^entry pages read: \([0-9]*\) of .*/\1/p')
epp=$($D info "$ssd" | sed -n 's/^entry format: [0-9]* bytes, \([0-9]*\) a page.*/\1/p')
read_blocks=$((pages * epp < nr_blocks ? pages * epp : nr_blocks))
# The highest entry index a load reads that no block uses.
free_idx=$($D entry-list "$ssd" | awk -v n="$read_blocks" '{ used[$1] = 1 }
	END { for (i = n - 1; i >= 0; i--) if (!used[i] && !used[i - 1]) { print i; exit } }')
[ -n "$free_idx" ] || fail "no free entry on an initialised page"
log "metadata: $M sectors; vm-a slot $slot_a, vm-b slot $slot_b, $nr_blocks blocks"
[ -n "$slot_a" ] && [ -n "$slot_b" ] && [ -n "$first_a" ] || fail "no entries of vm-a/vm-b"
[ "$slot_a" -gt 0 ] || fail "vm-a should not be in slot 0"

# The M sectors in 64 KiB I/Os (one I/O per sector cost about 1 s per case
# under TCG); /tmp/meta.img is M sectors long.
restore() {
	dd if=/tmp/meta.img of="$ssd" bs=64k oflag=direct conv=notrunc \
		2>/dev/null || fail "restoring the metadata"
}

meta_sum() {
	dd if="$ssd" bs=64k count=$((M * 512)) iflag=direct,count_bytes 2>/dev/null | md5sum
}

LOAD_ERRORS="Pool superblock checksum mismatch|zero the first 4 KiB to format|Pool metadata entry is damaged|Pool VM table is damaged|Pool attachment table is damaged|names an unused VM slot|Two pool metadata entries claim one block|layout is inconsistent|Unsupported pool metadata version|copy is misplaced|unsupported feature flags|sequence number is out of range|smaller than the pool it holds|block size does not match|vm_id"
CASES=0
REFUSED=0
RECOVERED=0

# check_vms CASE: both VM devices attach and return their own data: the
# dirty blocks (tag a1/b1), the origin behind them (a0/b0); never the
# other's.  A miss is recorded and the test goes on (it fails at the end),
# so one run shows every broken case.
BROKEN=
vm_check() { # CASE DEV FIRST COUNT TAG WHAT
	$D tag-check "/dev/mapper/$2" "$3" "$4" "$5" >/tmp/ck && return 0
	cat /tmp/ck
	echo "BROKEN: $1: $2 blocks $3..$(($3 + $4 - 1)) not all $5 ($6)"
	BROKEN="$BROKEN
  $1: $2 blocks $3..$(($3 + $4 - 1)) not all $5, $6 ($(tail -n 1 /tmp/ck))"
	return 1
}

check_vms() {
	vm_create vma pool "$oa" vm-a
	vm_create vmb pool "$ob" vm-b
	_ok=0
	vm_check "$1" vma 0 $N a1 "its dirty blocks" || _ok=1
	vm_check "$1" vma $N 64 a0 "its origin" || _ok=1
	vm_check "$1" vmb 0 $N b1 "its dirty blocks" || _ok=1
	vm_check "$1" vmb $N 64 b0 "its origin" || _ok=1
	dmsetup remove vma && dmsetup remove vmb || fail "$1: removing the VM devices"
	return $_ok
}

# try_load CASE EXPECT [CACHE_DEV [SECTORS [BLOCK_SIZE]]]: EXPECT is "load" (must load,
# data intact), a message (must be refused with it), or "either" (refused
# with a known load error, or loaded with the data intact).
try_load() {
	_case=$1 _expect=$2 _dev=${3:-$ssd} _len=${4:-$S} _bs=${5:-4096}
	CASES=$((CASES + 1))
	_sum=$(meta_sum)
	_n=$(dmesg | wc -l)
	if dmsetup create pool --table "0 $_len vwcache-pool $_dev $_bs 0" 2>/dev/null; then
		case $_expect in
		load | either) ;;
		*) dmsetup remove pool; fail "$_case: loaded, expected refusal '$_expect'" ;;
		esac
		if check_vms "$_case"; then
			RECOVERED=$((RECOVERED + 1))
			log "$_case: loaded, data intact"
		else
			log "$_case: loaded, DATA WRONG"
		fi
		dmsetup remove pool || fail "$_case: removing the pool"
		return 0
	fi
	_err=$(dmesg | tail -n +"$((_n + 1))" | grep 'vwcache-pool: ' | head -n 1)
	case $_expect in
	load) fail "$_case: refused, expected to load: $_err" ;;
	either) echo "$_err" | grep -Eq "$LOAD_ERRORS" || fail "$_case: refused without a known error: $_err" ;;
	*) echo "$_err" | grep -qF "$_expect" || fail "$_case: expected '$_expect', got: $_err" ;;
	esac
	[ "$(meta_sum)" = "$_sum" ] || fail "$_case: a refused load wrote to the cache device"
	REFUSED=$((REFUSED + 1))
	log "$_case: refused: ${_err#*vwcache-pool: }"
}

# ---- superblocks -------------------------------------------------------
restore; try_load "intact pool (control)" load
restore; $D sb-flip "$ssd" 0 1 4 && try_load "copy 0: 4 bit flips" load
restore; $D sb-flip "$ssd" 1 2 4 && try_load "copy 1: 4 bit flips" load
restore; $D sb-csum "$ssd" 0 && try_load "copy 0: bad checksum" load
restore; $D sb-csum "$ssd" 1 && try_load "copy 1: bad checksum" load
restore; $D sb-flip "$ssd" 0 3 1 && $D sb-flip "$ssd" 1 4 1 &&
	try_load "both copies: a bit flip each" "Pool superblock checksum mismatch"
restore; $D sb-set "$ssd" 0 magic 0 &&
	try_load "copy 0: foreign magic" "zero the first 4 KiB to format"
for f in "version 2:Unsupported pool metadata version" \
	"incompat 8:unsupported feature flags" \
	"incompat 0:layout is inconsistent" \
	"entries_init 4294967296:entries watermark is out of range" \
	"attach_start 0:layout is inconsistent" \
	"attach_start 1048:layout is inconsistent" \
	"compat_ro 4:unsupported feature flags" \
	"seq 0:sequence number is out of range" \
	"seq 1099511627776:sequence number is out of range" \
	"block_size 8192:layout is inconsistent" \
	"max_vms 4097:layout is inconsistent" \
	"max_vms 0:layout is inconsistent" \
	"nr_blocks 1:layout is inconsistent" \
	"data_start 0:layout is inconsistent" \
	"entries_start 8:layout is inconsistent" \
	"dev_sectors 18446744073709551615:layout is inconsistent"; do
	set -- ${f%%:*}
	restore
	$D sb-set "$ssd" 0 "$1" "$2" && $D sb-set "$ssd" 1 "$1" "$2" &&
		try_load "both copies: $1 $2 (valid checksum)" "${f#*:}"
	# One copy only: the other is intact and in force.
	ONE_COPY=$((ONE_COPY - 1))
	[ $ONE_COPY -ge 0 ] || continue
	restore
	$D sb-set "$ssd" 1 "$1" "$2" && try_load "copy 1: $1 $2" load
done
restore; $D sb-swap "$ssd" && try_load "copies swapped" "Pool superblock copy is misplaced"
restore; $D sb-grow "$ssd" 0 2 && $D sb-grow "$ssd" 1 2 &&
	try_load "superblocks of a device twice as large" "Cache device is smaller than the pool it holds"

# Truncated cache devices: the pool table on a shorter device.
for len in $((S / 2)) $((M + 8)) $((M - 8)) 16; do
	restore
	dmsetup create short --table "0 $len linear $ssd 0" || fail "short $len"
	try_load "cache device cut to $len of $S sectors" \
		"Cache device is smaller than the pool it holds" /dev/mapper/short "$len"
	dmsetup remove short
done
restore; try_load "another block size in the table" "block size does not match" "$ssd" "$S" 8192

# ---- entries and VM records -------------------------------------------
restore; $D entry-flip "$ssd" "$first_a" 3 &&
	try_load "an entry: bit flip in its map" "Pool metadata entry is damaged"
restore; $D entry-flip "$ssd" "$first_a" 70 &&
	try_load "an entry: bit flip in its check" "Pool metadata entry is damaged"
restore; $D entry-flip "$ssd" "$free_idx" 9 &&
	try_load "a free entry: one bit set" "Pool metadata entry is damaged"
# Sub-block maps (SUBBLOCKS) out of range, checksummed: damage.
restore; $D entry-flip "$ssd" "$first_a" 130 &&
	try_load "an entry: bit flip in its sub-block map" "Pool metadata entry is damaged"
restore; $D entry-sub "$ssd" "$first_a" 0 0 &&
	try_load "an entry holding no sub-block" "Pool metadata entry is damaged"
restore; $D entry-sub "$ssd" "$first_a" 2 0 &&
	try_load "an entry's sub-block past its block" "Pool metadata entry is damaged"
restore; $D entry-sub "$ssd" "$first_a" 1 3 &&
	try_load "an entry's base outside its sub-blocks" "Pool metadata entry is damaged"
# Above the watermark, nothing is read: damage there is not seen.
if [ "$read_blocks" -lt "$nr_blocks" ]; then
	restore; $D entry-flip "$ssd" $((nr_blocks - 1)) 9 &&
		try_load "an entry above the watermark: one bit set" load
fi
restore; $D entry-set "$ssd" "$free_idx" 100 5 1 &&
	try_load "an entry naming an unused VM slot" "names an unused VM slot"
restore; $D entry-set "$ssd" "$free_idx" 4095 5 0 &&
	try_load "an entry naming the last VM slot" "names an unused VM slot"
restore; $D entry-dup "$ssd" "$first_a" "$free_idx" &&
	try_load "two entries claiming one block" "Two pool metadata entries claim one block"
restore; $D entry-set "$ssd" "$free_idx" "$slot_b" 0 1 &&
	try_load "vm-b's block 0 claimed twice" "Two pool metadata entries claim one block"
restore; $D vm-flip "$ssd" "$slot_a" 17 &&
	try_load "vm-a's record: bit flip" "Pool VM table is damaged"
restore; $D vm-flip "$ssd" 300 1000 &&
	try_load "an empty VM record: bit flip" "Pool VM table is damaged"
restore; $D attach-flip "$ssd" "$slot_a" 900 &&
	try_load "vm-a's attachment record: bit flip" "Pool attachment table is damaged"
restore; $D attach-flip "$ssd" 2000 7 &&
	try_load "an empty attachment record: bit flip" "Pool attachment table is damaged"
restore; $D vm-set "$ssd" 4095 'bad/id' &&
	try_load "a VM record with an invalid vm_id" "Pool VM table is damaged"
# A second record with vm-a's name, in a lower slot than vm-a's own: the
# pool must refuse it or still give vm-a its blocks.
restore; $D vm-copy "$ssd" "$slot_a" 0 &&
	try_load "vm-a's vm_id in two records (the copy first)" either
restore; $D vm-copy "$ssd" "$slot_a" 77 &&
	try_load "vm-a's vm_id in two records (the copy after)" either

# Entries of vm-a for blocks past the end of its origin: nothing can be
# checked at load (origins are not known then); vm-a must attach, read its
# data, and writing the block back must fail visibly without harm.
restore; $D entry-set "$ssd" "$free_idx" "$slot_a" 1000000 1 &&
	$D entry-set "$ssd" "$((free_idx - 1))" "$slot_a" 281474976710655 1 &&
	try_load "vm-a dirty blocks past the end of its origin" either
dmsetup create pool --table "0 $S vwcache-pool $ssd 4096 0" || fail "past the end: load"
vm_create vma pool "$oa" vm-a
vm_check "past the end" vma 0 $N a1 "its dirty blocks"
dmsetup message vma 0 flush || fail "past the end: flush"
i=0
while [ $i -lt 50 ] && [ "$(field 4 vma)" -gt 2 ]; do
	sleep 0.2
	i=$((i + 1))
done
log "past the end, after a flush: pool $(dmsetup status pool | cut -d' ' -f4-9); vma $(dmsetup status vma | cut -d' ' -f4-7)"
# The writeback that cannot succeed shows: the VM's state is "error".
i=0
while [ $i -lt 50 ] && [ "$(field 2 vma)" != error ]; do
	sleep 0.2
	i=$((i + 1))
done
assert_eq "$(field 2 vma)" error "vm-a's state while its writeback fails"
if ! $D tag-check "$oa" 0 $N a1 >/tmp/ca; then
	cat /tmp/ca
	BROKEN="$BROKEN
  past the end: vm-a's good dirty blocks were not written back ($(tail -n 1 /tmp/ca))"
fi
dmsetup remove vma || fail "past the end: remove vma"
dmsetup remove pool || fail "past the end: remove pool"
$D tag-write "$oa" a0 0 $N

# The VM table full: every free slot in use by records of no blocks.  vm-a
# and vm-b still attach with their data.  A new vm_id is then refused with
# a clear error, or gets a slot the pool reclaimed (records without blocks
# or device are freed by the next commit): then it reads its origin only.
restore; $D vm-fill "$ssd" && try_load "VM table full" load
restore; $D vm-fill "$ssd" >/dev/null
dmsetup create pool --table "0 $S vwcache-pool $ssd 4096 0" || fail "table full: load"
n=$(dmesg | wc -l)
if dmsetup create vmn --table "0 $(sectors "$ox") vwcache /dev/mapper/pool $ox vm-new 0" 2>/dev/null; then
	vm_check "table full" vmn 0 128 x0 "a new vm_id"
	log "VM table full: vm-new got a reclaimed slot and reads its origin only"
	dmsetup remove vmn
else
	dmesg | tail -n +"$((n + 1))" | grep -q "The pool's VM table is full" ||
		fail "table full: vm-new refused without the reason: $(dmesg | tail -n 2)"
	log "VM table full: vm-new refused (The pool's VM table is full)"
fi
dmsetup remove pool

# ---- random damage -----------------------------------------------------
i=1
while [ $i -le $RANDOM_CASES ]; do
	region=$(echo sb0 sb1 vmtab entries meta attach | cut -d' ' -f$((i % 6 + 1)))
	nbits=$((1 + (i * 7) % 8))
	restore
	$D rand-flip "$ssd" "$i" "$nbits" "$region" >/dev/null || fail "rand-flip $i"
	try_load "random $i: $nbits bit flips in $region" either
	[ $((i % 50)) -eq 0 ] && log "random damage: $i cases"
	i=$((i + 1))
done

log "$CASES damaged pools: $REFUSED refused with a clear error, $RECOVERED recovered intact"
[ -z "$BROKEN" ] || fail "a damaged pool served wrong data:$BROKEN"
echo "RESULT corrupt_cases=$CASES"
echo "RESULT corrupt_refused=$REFUSED"
echo "RESULT corrupt_recovered=$RECOVERED"
vw_unload_module
log "corrupt metadata: passed"
