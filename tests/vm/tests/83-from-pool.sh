#!/bin/sh
# dmcache-ctl assemble --from-pool and check-origin (admin guide, "Boot
# and shutdown" and "libvirt hook"), without a config: three vm_ids, each
# on an origin with a dm UUID: x.vda with 16 dirty blocks on oa, y.vda
# flushed on ob, z.vda with 8 dirty blocks on oc.  All three are detached
# without a flush (y.vda's record goes with its clean blocks: the pool
# keeps records of x.vda and z.vda only), the pool removed, oc removed
# (its origin is then missing on this host).
#  - a device that holds no pool is refused (exit 1), nothing created,
#    its head unchanged: --from-pool never formats;
#  - --from-pool brings up the pool (default name vwpool) and x.vda on
#    oa (its 16 blocks read back through the VM device, then flushed to
#    oa), nothing for y.vda; z.vda is named "origin not found on this
#    host", exit 1; the Prometheus line of the orphan z.vda has its digest;
#  - check-origin: oc back, it exits 1 naming oc, pool, vm_id and
#    drop_dirty (by /dev/mapper and /dev/dm-N), 0 on oa (attached) and ob;
#    the Prometheus line now has oc's identity;
#  - --from-pool again brings up z.vda only (its 8 blocks read back) and
#    exits 0; once more: nothing changes, exit 0.
# The path last used and the settings (the attachment table, admin guide
# "Origin identity"): x.vda is attached with limits, one changed by
# "dmcache-ctl set" and its table reloaded through "dmsetup table"
# (major:minor); z.vda is attached through a symlink.  pool-status names
# the orphans' paths (/dev/mapper/oa kept over the reload, the symlink),
# dump shows x.vda's limits, --from-pool attaches x.vda with its limits
# (not the defaults) and z.vda through the symlink again.  The module
# and tool at 61949d1 kept neither: pool-status had no path and x.vda came
# back with the default limits.
# The tool before (main at 2fd6e5a) said "unknown option --from-pool" and
# 'unknown command "check-origin"' (exit 2): this test fails at its first
# --from-pool there.
# vwtest-disks: 1x128M 3x64M
# vwtest-timeout: 300
# shellcheck disable=SC1091 # guest paths
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)

sum() { md5sum | cut -d' ' -f1; }
wr() { # FILE DEV FIRST_BLOCK
	dd if="$1" of="$2" bs=4096 seek="$3" oflag=direct conv=notrunc,fsync \
		2>/dev/null || fail "write $1 to $2 at block $3"
}
rd() { # DEV FIRST_BLOCK COUNT
	dd if="$1" bs=4096 skip="$2" count="$3" iflag=direct 2>/dev/null
}
origin() { # NAME DISK: a dm origin with uuid VWTEST-FP-NAME
	dmsetup create "$1" -u "VWTEST-FP-$1" \
		--table "0 $(sectors "$2") linear $2 0" || fail "create $1"
	dm_dev_of "$1" >/dev/null
}
mm_of() { dmsetup info -c --noheadings -o major,minor "$1" | tr -d ' '; }
# The origin (major:minor) in VM device NAME's table.
origin_of() { dmsetup table "$1" | awk '{ print $5 }'; }
prom_orphan() { # VM_ID: its vwcache_orphan_dirty_bytes line
	dmcache-ctl stats --prometheus >/tmp/prom || fail "stats --prometheus"
	grep "^vwcache_orphan_dirty_bytes{pool=\"vwpool\",vm_id=\"$1\"," /tmp/prom
}

vw_load_module
zero_head "$ssd"
origin oa "$(disk 1)"
origin ob "$(disk 2)"
origin oc "$(disk 3)"
run 0 pool-create "$ssd" --name p0 --max-age 0
head -c $((16 * 4096)) /dev/urandom >/tmp/x
head -c $((4 * 4096)) /dev/urandom >/tmp/y
head -c $((8 * 4096)) /dev/urandom >/tmp/z
mkdir -p /tmp/links
ln -s /dev/mapper/oc /tmp/links/oc-disk
run 0 attach p0 /dev/mapper/oa x.vda --name vx --iops-limit 5000 \
	--cache-quota 10000 --weight 300
run 0 attach p0 /dev/mapper/ob y.vda --name vy
run 0 attach p0 /tmp/links/oc-disk z.vda --name vz
run 0 set vx weight 250
dmsetup table vx >/tmp/vx.table
dmsetup reload vx /tmp/vx.table || fail "reload vx"
dmsetup suspend vx && dmsetup resume vx || fail "suspend/resume vx"
assert_eq "$(awk '{ print $5 }' /tmp/vx.table)" "$(mm_of oa)"
wr /tmp/x /dev/mapper/vx 8
wr /tmp/y /dev/mapper/vy 0
wr /tmp/z /dev/mapper/vz 100
run 0 flush vy --wait
assert_eq "$(field 4 vx) $(field 4 vy) $(field 4 vz)" "16 0 8"
run 0 detach vx --no-flush
run 0 detach vy --no-flush
run 0 detach vz --no-flush
run 0 pool-status p0
has out "x.vda: 65536 dirty bytes, origin dm-uuid VWTEST-FP-oa"
if ! grep -q "last attached by" /tmp/out; then
	fail "OLD BEHAVIOUR: pool-status names no path last used: $(grep dirty /tmp/out)"
fi
has out "now /dev/mapper/oa, last attached by /dev/mapper/oa"
has out "now /dev/mapper/oc, last attached by /tmp/links/oc-disk"
run 0 dump "$ssd" --force
has out "last attached by /dev/mapper/oa, mode writeback iops_limit 5000 bw_limit 0 cache_quota 10000 weight 250"
run 0 check "$ssd" --force
has out "attachment table: 0 damaged"
log "orphans: x.vda by /dev/mapper/oa (kept over a major:minor reload), z.vda by /tmp/links/oc-disk"
run 0 pool-remove p0 --force
dmsetup remove oc || fail "remove oc"
rd /dev/mapper/oa 8 16 | sum >/tmp/oa-before
[ "$(cat /tmp/oa-before)" != "$(sum </tmp/x)" ] ||
	fail "x's data already on oa: the dirty blocks prove nothing"
log "pool with x.vda (16 dirty, on oa), z.vda (8 dirty, on oc, now gone); y.vda flushed"

# ---- a device without a pool: refused, never formatted -------------------
head -c 4096 "$(disk 3)" | sum >/tmp/head3
n=$(nr_dm)
if ! dmcache-ctl help assemble | grep -q -- --from-pool; then
	dmcache-ctl assemble --from-pool "$(disk 3)"
	fail "OLD BEHAVIOUR: assemble has no --from-pool"
fi
run 1 assemble --from-pool "$(disk 3)"
has err "holds no pool (its first 4 KiB are zero): --from-pool formats nothing"
assert_eq "$(nr_dm)" "$n"
assert_eq "$(head -c 4096 "$(disk 3)" | sum)" "$(cat /tmp/head3)"

# ---- from the pool: x and y up, z's origin missing ---------------------
run 1 assemble --from-pool "$ssd"
has out "pool vwpool on $ssd"
has out "attached x.vda as /dev/mapper/x.vda (origin /dev/mapper/oa, pool vwpool)"
has err "assemble: vm_id z.vda: origin not found on this host (dm-uuid, $(sectors "$(disk 3)") sectors, digest "
has err "1 of 2 vm_ids of pool vwpool not brought up: z.vda"
lacks out y.vda
lacks err y.vda
assert_eq "$(origin_of x.vda)" "$(mm_of oa)"
dmsetup table x.vda | grep -q " mode writeback iops_limit 5000 bw_limit 0 cache_quota 10000 weight 250$" ||
	fail "x.vda not with its last settings: $(dmsetup table x.vda)"
assert_eq "$(field 4 x.vda)" 16
assert_eq "$(rd /dev/mapper/x.vda 8 16 | sum)" "$(sum </tmp/x)"
assert_ok dmsetup message x.vda 0 flush
wait_clean x.vda
assert_eq "$(rd /dev/mapper/oa 8 16 | sum)" "$(sum </tmp/x)"
log "x.vda: 16 blocks read back and flushed to oa"
line=$(prom_orphan z.vda) || fail "no orphan line for z.vda: $(grep orphan /tmp/prom)"
log "prometheus: $line"
echo "$line" | grep -Eq "origin_kind=\"dm-uuid\",origin=\"[0-9a-f]{48}\"} 32768$" ||
	fail "orphan line without its digest: $line"
grep -q '^vwcache_pool_orphaned_dirty_bytes{pool="vwpool"} 32768$' /tmp/prom ||
	fail "vwcache_pool_orphaned_dirty_bytes changed: $(grep orphaned /tmp/prom)"

# ---- check-origin: oc is back, and holds stale data ----------------------
origin oc "$(disk 3)"
run 1 check-origin /dev/mapper/oc
has err "/dev/mapper/oc holds orphaned dirty data"
has err "vm_id z.vda, whose 32768 dirty bytes in pool vwpool"
has err "dmcache-ctl attach vwpool /dev/mapper/oc z.vda"
has err "dmsetup message vwpool 0 drop_dirty z.vda"
assert_eq "$(wc -l </tmp/err)" 1
dmn=/dev/dm-$(dmsetup info -c --noheadings -o minor oc | tr -d ' ')
run 1 check-origin "$dmn"
has err "$dmn holds orphaned dirty data"
run 0 check-origin /dev/mapper/oa
has out "no orphaned dirty data in the 1 active pools"
run 0 check-origin /dev/mapper/ob
run 2 check-origin /tmp/x
has err "is not a block device"
line=$(prom_orphan z.vda) || fail "no orphan line for z.vda"
echo "$line" | grep -q 'origin_kind="dm-uuid",origin="VWTEST-FP-oc"} 32768$' ||
	fail "orphan line without oc's identity: $line"
log "check-origin: oc 1, oa 0, ob 0; $line"

# ---- again: z comes up, the rest is left alone; then nothing changes ----
run 0 assemble --from-pool "$ssd"
has out "pool vwpool: already active on $ssd"
has out "vm_id x.vda: already active as x.vda"
has out "attached z.vda as /dev/mapper/z.vda (origin /tmp/links/oc-disk, pool vwpool)"
has out "pool vwpool and 2 VM devices up"
assert_eq "$(rd /dev/mapper/z.vda 100 8 | sum)" "$(sum </tmp/z)"
run 0 check-origin /dev/mapper/oc
dmcache-ctl stats --prometheus >/tmp/prom || fail "stats --prometheus"
lacks prom "vwcache_orphan_dirty_bytes{"
n=$(nr_dm)
dmsetup table >/tmp/tables-before
run 0 assemble --from-pool "$ssd" --name vwpool
lacks out attached
assert_eq "$(nr_dm)" "$n"
dmsetup table | cmp -s - /tmp/tables-before || fail "a second run changed tables"
run 1 assemble --from-pool "$ssd" --name other
has err "the pool on $ssd is active as vwpool, not other: left alone"
run 2 assemble --from-pool "$ssd" --config /etc/none
log "second run: nothing changed ($n devices)"

for d in x.vda z.vda; do
	run 0 detach "$d"
done
run 0 pool-remove vwpool
for d in oa ob oc; do dmsetup remove "$d" || fail "remove $d"; done
if dmesg | grep -E "WARNING|BUG|Oops"; then
	fail "kernel warning"
fi
log "ok"
