#!/bin/sh
# Per-VM operations cost the VM's blocks, not the pool's (issue 17 item
# 4): attaching a VM device (its clean blocks dropped), "invalidate",
# detaching it and the pool message drop_dirty, for a small VM (64 dirty
# 64 KiB blocks), take as long on a sparse 1 TiB pool (16 M blocks) as on
# a 256 MiB one (4 K blocks).  Both pools live in one boot and each round
# does every operation on the small pool, then on the big one; an
# operation's time is its fastest of 7 rounds (a stalled host slows a
# round, never speeds one), and the big pool's must be at most 3/2 of the
# small pool's plus 20 ms (two ticks of /proc/uptime's 10 ms clock).  The
# module before the per-VM block lists walked the whole block table for
# each: on 6.1, 180-230 ms on the big pool against 50-110 ms on the small
# one (the fastest of 5 rounds; 89 fails it for every operation).  Each round also
# checks the operations did their work: the dirty blocks stay through
# attach, invalidate and detach, and drop_dirty leaves the pool empty.
# vwtest-disks: 1x1T 1x256M 2x64M
# vwtest-mem: 2048
# vwtest-timeout: 600
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

N=64		# dirty blocks of the VM
ROUNDS=7
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

vw_load_module
zero_head "$(disk 0)"
zero_head "$(disk 1)"
pool_create big "$(disk 0)" 65536
pool_create small "$(disk 1)" 65536
head -c $((N * 65536)) /dev/urandom >/tmp/data

# ops POOL ORIGIN VM_ID: one round on POOL; sets t_attach, t_inval,
# t_detach, t_drop (ms).
ops() {
	_t=$(now_ms)
	vm_create vm "$1" "$2" "$3"
	t_attach=$(($(now_ms) - _t))
	dd if=/tmp/data of=/dev/mapper/vm bs=65536 oflag=direct 2>/dev/null ||
		fail "write vm on $1"
	assert_eq "$(field 4 vm)" $N
	_t=$(now_ms)
	assert_ok dmsetup message vm 0 invalidate
	t_inval=$(($(now_ms) - _t))
	assert_eq "$(field 4 vm)" $N
	_t=$(now_ms)
	dmsetup remove vm || fail "remove vm on $1"
	t_detach=$(($(now_ms) - _t))
	assert_eq "$(field 5 "$1")" $N
	_t=$(now_ms)
	assert_ok dmsetup message "$1" 0 drop_dirty "$3"
	t_drop=$(($(now_ms) - _t))
	assert_eq "$(field 5 "$1")" 0
	assert_eq "$(field 4 "$1")" "$(field 3 "$1")"
}

min() { [ -z "$1" ] || [ "$2" -lt "$1" ] && echo "$2" || echo "$1"; }

for r in $(seq 1 $ROUNDS); do
	ops small "$(disk 2)" "small-$r"
	sa=$(min "$sa" $t_attach) si=$(min "$si" $t_inval)
	sd=$(min "$sd" $t_detach) sx=$(min "$sx" $t_drop)
	said="$t_attach/$t_inval/$t_detach/$t_drop"
	ops big "$(disk 3)" "big-$r"
	ba=$(min "$ba" $t_attach) bi=$(min "$bi" $t_inval)
	bd=$(min "$bd" $t_detach) bx=$(min "$bx" $t_drop)
	log "round $r (attach/invalidate/detach/drop_dirty ms): small pool $said, big pool $t_attach/$t_inval/$t_detach/$t_drop"
done

bad=""
check() { # NAME SMALL_MS BIG_MS
	echo "RESULT vmops_${1}_ms small $2 big $3 blocks_small $(field 3 small) blocks_big $(field 3 big)"
	[ "$3" -le $(($2 * 3 / 2 + 20)) ] || bad="$bad $1 ($3 ms on the big pool, $2 ms on the small one)"
}
check attach "$sa" "$ba"
check invalidate "$si" "$bi"
check detach "$sd" "$bd"
check drop_dirty "$sx" "$bx"
[ -z "$bad" ] || fail "per-VM operations scale with the pool:$bad"
dmsetup remove small || fail "remove small"
dmsetup remove big || fail "remove big"
log "ok"
