#!/bin/sh
# 61-power-cut-flakey: repeated power cuts of SSD and origins at once.  One
# data disk sits under one dm-flakey device "pwr", and dm-linear cuts that
# into the pool's SSD leg and three origin legs, so switching pwr to
# drop_writes (reload, suspend --noflush, resume) cuts every leg at the
# same instant.  Each round runs vwc-model on three VM devices (a small
# pool: eviction and writeback run) until a random completed flush K; its
# mark command then cuts the power (the model is locked meanwhile: every
# write issued by then is in checkpoint K) after a random delay, sometimes
# with a pool-wide writeback started first, and fails so that the workload
# stops.  The VM devices and the pool are removed (all they write now is
# lost), pwr passes writes again, the pool is loaded (recovery) and every
# write completed before a completed flush must be intact (vwc-model
# --crash-check against checkpoint K).  The next round goes on from the
# model resolved to what was found.  At the end all dirty data is written
# back and the origins alone must hold the model.
# make check: 20 cuts; vwfull=1 (make check-full): 60.
# vwtest-disks: 1x128M
# vwtest-timeout: 900
# vwtest-mem: 1024
# shellcheck disable=SC1091,SC2086 # guest paths; $vms is a list
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

data=$(disk 0)
SSD_MB=24
ORIGIN_MB=16
NVM=3
CUTS=20
SEED=61
if grep -qw vwfull=1 /proc/cmdline || [ "${VW_FULL:-0}" = 1 ]; then
	CUTS=60
fi
POOL_FEATURES="high_watermark 20 low_watermark 5 max_age 1000 commit_interval 500"

SSD_S=$((SSD_MB * 2048))
ORIGIN_S=$((ORIGIN_MB * 2048))
TOTAL_S=$((SSD_S + NVM * ORIGIN_S))
CK=/tmp/ck
vms=
for i in $(seq 1 $NVM); do
	vms="$vms /dev/mapper/vm$i"
done
PASS_TABLE="0 $TOTAL_S flakey $data 0 86400 0"
DROP_TABLE="0 $TOTAL_S flakey $data 0 0 86400 1 drop_writes"

command -v vwc-model >/dev/null || fail "vwc-model not in the guest (make -C tests/tools)"
dmsetup targets | grep -q '^flakey' || kmod_load dm-flakey

t_start=$(date +%s)

# rnd I LO HI: the I-th pseudo-random integer in [LO, HI] of this test.
rnd() {
	awk -v s=$((SEED * 1000 + $1)) -v lo="$2" -v hi="$3" \
		'BEGIN { srand(s); print lo + int(rand() * (hi - lo + 1)) }'
}

legs() {
	for i in $(seq 1 $NVM); do
		assert_ok dmsetup create "o$i" --table \
			"0 $ORIGIN_S linear /dev/mapper/pwr $((SSD_S + (i - 1) * ORIGIN_S))"
	done
	assert_ok dmsetup create ssd --table "0 $SSD_S linear /dev/mapper/pwr 0"
	dm_dev_of ssd >/dev/null
}

stack() {
	pool_create pool /dev/mapper/ssd 4096 $POOL_FEATURES
	[ "$(field 1 pool)" = ok ] || fail "pool state after load: $(dmsetup status pool)"
	for i in $(seq 1 $NVM); do
		vm_create "vm$i" pool "/dev/mapper/o$i" "guest-$i.vda"
	done
}

unstack() {
	for i in $(seq 1 $NVM); do
		dmsetup remove "vm$i" || fail "remove vm$i"
	done
	dmsetup remove pool || fail "remove pool"
}

# pwr_table TABLE: switch pwr to TABLE at one instant.
pwr_table() {
	assert_ok dmsetup reload pwr --table "$1"
	assert_ok dmsetup suspend --noflush pwr
	assert_ok dmsetup resume pwr
}

report_field() {
	awk -v k="$1:" '$1 == k { print $2 }' "$2"
}

vw_load_module
zero_head "$data"
assert_ok dmsetup create pwr --table "$PASS_TABLE"
dm_dev_of pwr >/dev/null
legs
stack
log "pool: $(dmsetup status pool)"

# The mark command: at flush K (or later), wait DELAY seconds (MODE wb:
# after starting a pool-wide writeback), cut the power and fail, which
# stops vwc-model.
cat >/tmp/cut.sh <<EOF
#!/bin/sh
[ "\$1" -ge "\$(cat /tmp/cut.k)" ] || exit 0
[ "\$(cat /tmp/cut.mode)" = wb ] && dmsetup message pool 0 flush
sleep "\$(cat /tmp/cut.delay)"
st=\$(dmsetup status pool | cut -d' ' -f4-)
dmsetup reload pwr --table "$DROP_TABLE" || exit 3
dmsetup suspend --noflush pwr || exit 3
dmsetup resume pwr || exit 3
echo "\$1" >/tmp/cut.at
echo "CUT: power cut at flush \$1; pool before: \$st"
exit 1
EOF
chmod +x /tmp/cut.sh

survived=0 verified=0 flushes=0
round=1
while [ $round -le $CUTS ]; do
	rm -rf "$CK" /tmp/cut.at
	k=$((flushes + $(rnd $((round * 3)) 3 60)))
	delay_ms=$(rnd $((round * 3 + 1)) 0 400)
	mode=plain
	[ $((round % 3)) -eq 0 ] && mode=wb
	[ $((round % 4)) -eq 1 ] && delay_ms=0
	echo $k >/tmp/cut.k
	echo $mode >/tmp/cut.mode
	printf '%d.%03d\n' $((delay_ms / 1000)) $((delay_ms % 1000)) >/tmp/cut.delay
	log "round $round: cut at flush $k after $delay_ms ms ($mode)"
	if [ $round -eq 1 ]; then
		first="--initial-zero --crash-check"
	else
		first="--load /tmp/resolved.state"
	fi
	vwc-model $first --ops 1000000 --seed $((SEED + round)) --threads $NVM \
		--mix 30,50,15,5 --max-io 64k --checkpoint-dir "$CK" \
		--mark-cmd '/tmp/cut.sh %d' $vms >/tmp/work.out 2>&1
	rc=$?
	[ -f /tmp/cut.at ] || { cat /tmp/work.out; fail "round $round: no cut (vwc-model exited $rc)"; }
	cut_at=$(cat /tmp/cut.at)
	log "$(grep '^CUT: ' /tmp/work.out)"
	# Reads before the cut were checked: a mismatch there is a bug.  After
	# it, writes are dropped and reads may be stale.
	if sed '/^CUT: /q' /tmp/work.out | grep -q '^MISMATCH'; then
		cat /tmp/work.out
		fail "round $round: mismatch before the power cut"
	fi
	grep -q -- '--mark-cmd failed (status 256)' /tmp/work.out ||
		{ cat /tmp/work.out; fail "round $round: the mark command did not stop the workload"; }
	# The power is off: whatever the pool and VM devices write now is lost.
	unstack
	pwr_table "$PASS_TABLE"
	stack
	vwc-model --load "$(printf '%s/flush-%06d.state' "$CK" "$cut_at")" --verify-only \
		--crash-check --threads $NVM --report --state /tmp/resolved.state \
		$vms >/tmp/v.out 2>&1
	rc=$?
	[ $rc -eq 0 ] || { cat /tmp/v.out; fail "round $round: data lost or stale after the power cut at flush $cut_at (vwc-model exited $rc)"; }
	v=$(report_field sectors-verified /tmp/v.out)
	verified=$((verified + v))
	survived=$((survived + 1))
	flushes=$cut_at
	log "round $round: recovered after the cut at flush $cut_at: $v sectors verified; pool: $(dmsetup status pool | cut -d' ' -f4-)"
	round=$((round + 1))
done

# All dirty data written back: the origins alone hold the model.
assert_ok dmsetup message pool 0 flush
for i in $(seq 1 $NVM); do
	wait_clean "vm$i" 120
done
vwc-model --load /tmp/resolved.state --verify-only --threads $NVM --report \
	/dev/mapper/o1 /dev/mapper/o2 /dev/mapper/o3 >/tmp/v.out 2>&1
rc=$?
[ $rc -eq 0 ] || { cat /tmp/v.out; fail "origins after the final writeback (vwc-model exited $rc)"; }
verified=$((verified + $(report_field sectors-verified /tmp/v.out)))
unstack
for i in $(seq 1 $NVM); do
	dmsetup remove "o$i" || fail "remove o$i"
done
dmsetup remove ssd || fail "remove ssd"
dmsetup remove pwr || fail "remove pwr"
log "survived $survived power cuts, $verified sectors verified, $(($(date +%s) - t_start)) s"
[ $survived -ge 10 ] || fail "only $survived cuts"
log "power cuts: passed"
