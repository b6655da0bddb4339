#!/bin/sh
# Malformed table lines and messages: each is refused with its precise
# ti->error (read back from the kernel log), and nothing changes.
# vwtest-disks: 1x256M 1x128M 1x128M
# vwtest-timeout: 240
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
origin=$(disk 1)
spare=$(disk 2)
vw_load_module
zero_head "$ssd"
zero_head "$spare"
S=$(sectors "$ssd")
O=$(sectors "$origin")
P="0 $S vwcache-pool $ssd"

# ---- vwcache-pool ----------------------------------------------------------
expect_refused "no arguments" "Not enough arguments" p "0 $S vwcache-pool"
expect_refused "device only" "Not enough arguments" p "$P"
expect_refused "no feature count" "Not enough arguments" p "$P 4096"
for bs in 0 512 2048 4095 6144 65535 131072 4k abc -4096 99999999999999999999999; do
	expect_refused "block size $bs" \
		"Cache block size must be a power of two from 4096 to 65536" \
		p "$P $bs 0"
done
expect_refused "feature count not a number" \
	"Invalid number of feature arguments" p "$P 4096 x"
expect_refused "feature count overflow" \
	"Invalid number of feature arguments" p "$P 4096 18446744073709551616"
expect_refused "feature count larger than given" \
	"Number of feature arguments does not match" p "$P 4096 2"
expect_refused "feature count smaller than given" \
	"Number of feature arguments does not match" p "$P 4096 0 max_age 5"
expect_refused "missing value" \
	"Feature arguments must be key value pairs" p "$P 4096 1 max_age"
expect_refused "unknown key" "Unknown feature argument" p "$P 4096 2 colour blue"
expect_refused "duplicate key" "Duplicate feature argument" \
	p "$P 4096 4 max_age 1 max_age 2"
expect_refused "high_watermark 101" \
	"high_watermark must be an integer from 1 to 100" \
	p "$P 4096 2 high_watermark 101"
expect_refused "high_watermark 0" \
	"high_watermark must be an integer from 1 to 100" \
	p "$P 4096 2 high_watermark 0"
expect_refused "negative watermark" \
	"low_watermark must be an integer from 0 to 99" \
	p "$P 4096 2 low_watermark -1"
expect_refused "low above high" "low_watermark must be below high_watermark" \
	p "$P 4096 4 high_watermark 50 low_watermark 60"
expect_refused "max_age too long" "max_age must be 0 (never)" \
	p "$P 4096 2 max_age 86400001"
expect_refused "commit_interval 0" "commit_interval must be milliseconds" \
	p "$P 4096 2 commit_interval 0"
expect_refused "writeback_iops overflow" "writeback_iops must be 0" \
	p "$P 4096 2 writeback_iops 18446744073709551616"
expect_refused "io_capacity_bw fraction" "io_capacity_bw must be 0" \
	p "$P 4096 2 io_capacity_bw 1.5"
expect_refused "io_capacity_iops hex" "io_capacity_iops must be 0" \
	p "$P 4096 2 io_capacity_iops 0x10"
expect_refused "no such cache device" "Cache device lookup failed" \
	p "0 $S vwcache-pool /dev/nonexistent 4096 0"
expect_refused "length past the cache device" \
	"Target length exceeds the cache device size" \
	p "0 $((S + 8)) vwcache-pool $ssd 4096 0"
dmsetup create small --table "0 1536 linear $spare 0" || fail "small linear"
expect_refused "cache device too small" \
	"Cache device is too small for a pool of this block size" \
	p "0 1536 vwcache-pool /dev/mapper/small 4096 0"
dmsetup remove small

pool_create pool "$ssd" 4096
expect_refused "second pool on the same cache device" \
	"Cache device is already used by another pool" p "$P 4096 0"
expect_refused "pool on a pool" "Cache device is a vwcache device" \
	p "0 $S vwcache-pool /dev/mapper/pool 4096 0"

# ---- vwcache ---------------------------------------------------------------
V="0 $O vwcache /dev/mapper/pool $origin"
expect_refused "vm: no arguments" "Not enough arguments" v "0 $O vwcache"
expect_refused "vm: no feature count" "Not enough arguments" v "$V vm1"
expect_refused "vm_id with a slash" "Invalid vm_id" v "$V a/b 0"
expect_refused "vm_id with a non-ASCII letter" "Invalid vm_id" v "$V $(printf 'vm\303\251') 0"
long=$(printf '%065d' 0)
expect_refused "vm_id of 65 characters" "Invalid vm_id" v "$V $long 0"
expect_refused "vm: feature count mismatch" \
	"Number of feature arguments does not match" v "$V vm1 3 mode writeback"
expect_refused "vm: unknown key" "Unknown feature argument" v "$V vm1 2 speed 9"
expect_refused "vm: bad mode" \
	"mode must be writeback, writethrough or passthrough" \
	v "$V vm1 2 mode writearound"
expect_refused "vm: weight 0" "weight must be an integer from 1 to 1000" \
	v "$V vm1 2 weight 0"
expect_refused "vm: weight 1001" "weight must be an integer from 1 to 1000" \
	v "$V vm1 2 weight 1001"
expect_refused "vm: negative iops_limit" "iops_limit must be 0" \
	v "$V vm1 2 iops_limit -5"
expect_refused "vm: bw_limit overflow" "bw_limit must be 0" \
	v "$V vm1 2 bw_limit 99999999999999999999"
expect_refused "vm: cache_quota too large" "cache_quota must be 0" \
	v "$V vm1 2 cache_quota 281474976710657"
expect_refused "vm: duplicate key" "Duplicate feature argument" \
	v "$V vm1 4 weight 5 weight 6"
expect_refused "vm: no such pool" "Pool device lookup failed" \
	v "0 $O vwcache /dev/nonexistent $origin vm1 0"
expect_refused "vm: pool is a plain disk" \
	"Pool device is not a vwcache-pool device" \
	v "0 $O vwcache $spare $origin vm1 0"
dmsetup create lin --table "0 2048 linear $spare 0" || fail "lin"
expect_refused "vm: pool is another dm device" \
	"Pool device is not a vwcache-pool device" \
	v "0 $O vwcache /dev/mapper/lin $origin vm1 0"
dmsetup remove lin
expect_refused "vm: no such origin" "Origin device lookup failed" \
	v "0 $O vwcache /dev/mapper/pool /dev/nonexistent vm1 0"
expect_refused "vm: origin is the cache device" \
	"Origin device is the pool's cache device" \
	v "0 $S vwcache /dev/mapper/pool $ssd vm1 0"
expect_refused "vm: origin is the pool" "Origin device is a vwcache device" \
	v "0 $S vwcache /dev/mapper/pool /dev/mapper/pool vm1 0"
expect_refused "vm: length past the origin" \
	"Target length exceeds the origin device size" \
	v "0 $((O + 1)) vwcache /dev/mapper/pool $origin vm1 0"

vm_create vm1 pool "$origin" vm1
expect_refused "vm: duplicate vm_id" "vm_id is already attached to this pool" \
	v "0 $(sectors "$spare") vwcache /dev/mapper/pool $spare vm1 0"
expect_refused "vm: origin is a VM device" "Origin device is a vwcache device" \
	v "0 $O vwcache /dev/mapper/pool /dev/mapper/vm1 vm2 0"
expect_refused "vm: VM device as its own pool" \
	"Pool device is not a vwcache-pool device" \
	v "0 $O vwcache /dev/mapper/vm1 $spare vm2 0"
log "table lines refused: $REFUSED"
[ "$REFUSED" -ge 30 ] || fail "only $REFUSED table lines tried"

# ---- messages --------------------------------------------------------------
n=$REFUSED
expect_msg_refused pool frobnicate
expect_msg_refused pool set
expect_msg_refused pool set max_age
expect_msg_refused pool set max_age 1 2
expect_msg_refused pool set colour blue
expect_msg_refused pool set high_watermark 101
expect_msg_refused pool set low_watermark 50
expect_msg_refused pool set commit_interval 0
expect_msg_refused pool set writeback_iops -1
expect_msg_refused pool flush now
expect_msg_refused vm1 frobnicate
expect_msg_refused vm1 set weight 0
expect_msg_refused vm1 set weight abc
expect_msg_refused vm1 set mode writearound
expect_msg_refused vm1 set vm_id other
expect_msg_refused vm1 set iops_limit 18446744073709551616
expect_msg_refused vm1 migrate_abort
expect_msg_refused vm1 clear_stats now
log "messages refused: $((REFUSED - n))"

# Good messages still work and show in the table.
assert_ok dmsetup message vm1 0 set iops_limit 500
assert_ok dmsetup message vm1 0 set mode writethrough
dmsetup table vm1 | grep -q "vm1 10 mode writethrough iops_limit 500 bw_limit 0 cache_quota 0 weight 100$" ||
	fail "vm settings not re-emitted: $(dmsetup table vm1)"
dmsetup remove vm1 || fail "remove vm1"
dmsetup remove pool || fail "remove pool"
vw_unload_module
