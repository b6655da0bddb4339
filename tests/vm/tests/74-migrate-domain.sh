#!/bin/sh
# dmcache-ctl migrate-domain, the source side of a libvirt live migration,
# with a stand-in virsh that logs its calls, prints "domblklist --details"
# as libvirt 9 does and records the VM devices' state when "migrate" runs:
# the domain's two vwcache disks (one named by /dev/mapper, one by its
# /dev/dm-N node) are flushed to "clean" before virsh migrate runs, with
# the user's virsh options passed on after DOMAIN DEST_URI; a plain block
# disk, a file disk and an empty cdrom are left alone, as is a VM device
# of another domain (still dirty); a failed virsh migrate restores both
# disks (mode writeback, state ok: migrate-abort) and exits 1 with the
# reason; an unknown domain prepares nothing; --connect goes to virsh -c.
# vwtest-disks: 1x256M 1x64M 1x64M 1x64M 1x64M
# vwtest-timeout: 240
. /lib/vwcache/lib.sh
. /lib/vwcache/lib-vwcache.sh

ssd=$(disk 0)
vw_load_module
zero_head "$ssd"
pool_create pool "$ssd" 4096
vm_create vm1 pool "$(disk 1)" web.vda
vm_create vm2 pool "$(disk 2)" web.vdb
vm_create vm3 pool "$(disk 3)" other.vda
dm2=/dev/$(basename "$(dm_sys vm2)")
[ -b "$dm2" ] || fail "no dm node for vm2: $dm2"

mkdir -p /tmp/bin
cat >/tmp/bin/virsh <<EOS
#!/bin/sh
echo "virsh \$*" >>/tmp/virsh.log
[ "\$1" = -c ] && shift 2
case \$1 in
domblklist)
	[ "\$3" = web ] || { echo "error: failed to get domain '\$3'" >&2; exit 1; }
	echo " Type    Device   Target   Source"
	echo "------------------------------------------------------------"
	echo " block   disk     vda      /dev/mapper/vm1"
	echo " block   disk     vdb      $dm2"
	echo " block   disk     vdc      $(disk 4)"
	echo " file    disk     vdd      /var/lib/libvirt/images/logs.qcow2"
	echo " file    cdrom    sda      -"
	echo ;;
migrate)
	for v in vm1 vm2 vm3; do
		dmsetup status \$v | awk -v v=\$v '{ print v, \$4, \$5, \$7 }' \
			>>/tmp/at-migrate
	done
	exit \$(cat /tmp/virsh-rc) ;;
esac
EOS
chmod +x /tmp/bin/virsh
DMCACHE_CTL_VIRSH=/tmp/bin/virsh
export DMCACHE_CTL_VIRSH

dirty_some() { # VM MiB
	dd if=/dev/urandom of="/dev/mapper/$1" bs=4096 count=$(($2 * 256)) \
		oflag=direct conv=fsync 2>/dev/null || fail "write $1"
	[ "$(field 4 "$1")" -gt 0 ] || fail "$1 not dirty"
}
dirty_some vm1 8
dirty_some vm2 4
dirty_some vm3 2

# ---- success ----------------------------------------------------------------
echo 0 >/tmp/virsh-rc
: >/tmp/virsh.log
: >/tmp/at-migrate
dmcache-ctl migrate-domain web qemu+ssh://dst/system --live --persistent \
	--undefinesource --timeout 30 >/tmp/out 2>/tmp/err ||
	fail "migrate-domain failed: $(cat /tmp/err)"
cat /tmp/out
grep -q "web: 2 vwcache disks" /tmp/out || fail "disks: $(cat /tmp/out)"
grep -q "web.vda: clean after" /tmp/out || fail "no flush of web.vda shown"
grep -q "web.vdb: clean after" /tmp/out || fail "no flush of web.vdb shown"
assert_eq "$(grep migrate /tmp/virsh.log)" \
	"virsh migrate web qemu+ssh://dst/system --live --persistent --undefinesource --timeout 30"
assert_eq "$(head -n 1 /tmp/virsh.log)" "virsh domblklist --details web"
log "at migrate: $(tr '\n' ';' </tmp/at-migrate)"
assert_eq "$(grep vm1 /tmp/at-migrate)" "vm1 writethrough clean 0"
assert_eq "$(grep vm2 /tmp/at-migrate)" "vm2 writethrough clean 0"
grep -q "vm3 writeback ok" /tmp/at-migrate || fail "vm3 touched: $(cat /tmp/at-migrate)"
[ "$(field 4 vm3)" -gt 0 ] || fail "vm3 flushed"
[ -s /tmp/err ] && fail "stderr on success: $(cat /tmp/err)"
# The migration went: the source's disks stay clean (writethrough).
assert_eq "$(field 2 vm1)" clean
dmcache-ctl migrate-abort vm1 >/dev/null || fail "abort vm1"
dmcache-ctl migrate-abort vm2 >/dev/null || fail "abort vm2"

# ---- virsh migrate fails: both disks back to writeback ----------------------
dirty_some vm1 4
echo 1 >/tmp/virsh-rc
: >/tmp/at-migrate
dmcache-ctl migrate-domain web qemu+tls://dst/system --live >/tmp/out 2>/tmp/err &&
	fail "migrate-domain succeeded though virsh migrate failed"
rc=$?
assert_eq "$rc" 1
grep -q "virsh migrate web qemu+tls://dst/system failed (exit 1)" /tmp/err ||
	fail "no reason: $(cat /tmp/err)"
grep -q "vm1 writethrough clean 0" /tmp/at-migrate || fail "not flushed first"
for v in vm1 vm2; do
	assert_eq "$(field 1 $v)" writeback
	assert_eq "$(field 2 $v)" ok
done
grep -q "web.vda: migration aborted" /tmp/out || fail "abort not shown"

# ---- an unknown domain: nothing prepared ----------------------------------
dirty_some vm1 1
: >/tmp/virsh.log
dmcache-ctl migrate-domain nosuch qemu+ssh://dst/system >/tmp/out 2>/tmp/err &&
	fail "unknown domain accepted"
grep -q "virsh domblklist nosuch failed" /tmp/err || fail "reason: $(cat /tmp/err)"
grep -q "migrate " /tmp/virsh.log && fail "virsh migrate ran"
assert_eq "$(field 2 vm1)" ok
assert_eq "$(field 1 vm1)" writeback

# ---- --connect --------------------------------------------------------------
echo 0 >/tmp/virsh-rc
: >/tmp/virsh.log
dmcache-ctl migrate-domain --connect qemu:///system web qemu+ssh://dst/system \
	>/tmp/out 2>/tmp/err || fail "with --connect: $(cat /tmp/err)"
assert_eq "$(tr '\n' ';' </tmp/virsh.log)" \
	"virsh -c qemu:///system domblklist --details web;virsh -c qemu:///system migrate web qemu+ssh://dst/system;"
dmcache-ctl migrate-abort vm1 >/dev/null || fail "abort vm1"
dmcache-ctl migrate-abort vm2 >/dev/null || fail "abort vm2"

# ---- invalidate by dmcache-ctl ---------------------------------------------
dmcache-ctl flush vm1 --wait >/dev/null || fail "flush vm1"
[ "$(field 3 vm1)" -gt 0 ] || fail "vm1 has no clean block"
dmcache-ctl invalidate web.vda >/tmp/out 2>/tmp/err || fail "invalidate: $(cat /tmp/err)"
grep -q "web.vda: clean blocks dropped" /tmp/out || fail "invalidate said: $(cat /tmp/out)"
assert_eq "$(field 3 vm1)" 0
dmcache-ctl invalidate nosuch >/dev/null 2>&1 && fail "invalidate of nothing accepted"

for v in vm1 vm2 vm3; do dmsetup remove $v || fail "remove $v"; done
dmsetup remove pool || fail "remove pool"
log "ok"
