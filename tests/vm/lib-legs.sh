# shellcheck shell=sh
# lib-legs.sh: a pool's SSD and a VM's origin behind dm "legs" that a test
# switches live, for power cuts and torn commits.  Source after lib.sh and
# lib-vwcache.sh, with $ssd and $origin set to the disks.  down() removes
# the VM device "vm" and the pool "pool"; a test with other devices
# defines its own before sourcing this.
#
#   ssd_leg whole|torn|cut|slow  dm device ssdleg over $ssd: two segments,
#                            the superblocks (sectors 0-15) and the rest;
#                            torn drops every write to the superblocks
#                            (commits tear after their other pages), cut
#                            drops all, slow holds writes to the rest 4 s
#   origin_leg linear|delay|cut  dm device oleg over $origin; delay holds
#                            writes 4 s (not reads), cut drops all writes
#   power_cut                nothing written from now on lands (both legs
#                            cut), down, then both legs back to linear
#   put BLOCK TEXT           a whole 4 KiB block of /dev/mapper/vm: TEXT, a
#                            newline, zeros (O_DIRECT)
#   got BLOCK                the text of a block of /dev/mapper/vm (empty
#                            for zeros); raw BLOCK: of $origin itself
#   expect BLOCK TEXT WHAT   fail unless got BLOCK is TEXT
# dm-flakey drop_writes completes dropped writes as successful, as a
# volatile write cache lost in a power cut would have.

DROP="0 86400 1 drop_writes"
dmsetup targets | grep -q '^flakey' || kmod_load dm-flakey
dmsetup targets | grep -q '^delay' || kmod_load dm-delay

# leg_table NAME LINES: create NAME or switch it live to LINES (printf %b).
leg_table() {
	if dmsetup info "$1" >/dev/null 2>&1; then
		printf '%b' "$2" | dmsetup reload "$1" &&
			dmsetup suspend --noflush "$1" && dmsetup resume "$1"
	else
		printf '%b' "$2" | dmsetup create "$1" && dm_dev_of "$1" >/dev/null
	fi || fail "leg_table $1: $2"
}

ssd_leg() {
	_ss=$(($(sectors "$ssd") - 16))
	case $1 in
	whole) leg_table ssdleg "0 16 linear $ssd 0\n16 $_ss linear $ssd 16\n" ;;
	torn) leg_table ssdleg "0 16 flakey $ssd 0 $DROP\n16 $_ss linear $ssd 16\n" ;;
	cut) leg_table ssdleg "0 16 flakey $ssd 0 $DROP\n16 $_ss flakey $ssd 16 $DROP\n" ;;
	slow) leg_table ssdleg "0 16 linear $ssd 0\n16 $_ss delay $ssd 16 0 $ssd 16 4000\n" ;;
	*) fail "ssd_leg $1" ;;
	esac
}

origin_leg() {
	_os=$(sectors "$origin")
	case $1 in
	linear) leg_table oleg "0 $_os linear $origin 0\n" ;;
	delay) leg_table oleg "0 $_os delay $origin 0 0 $origin 0 4000\n" ;;
	cut) leg_table oleg "0 $_os flakey $origin 0 $DROP\n" ;;
	*) fail "origin_leg $1" ;;
	esac
}

command -v down >/dev/null 2>&1 || down() {
	dmsetup remove vm || fail "remove vm"
	dmsetup remove pool || fail "remove pool"
}

power_cut() {
	ssd_leg cut
	origin_leg cut
	down
	ssd_leg whole
	origin_leg linear
}

put() {
	printf '%s\n' "$2" | dd of=/dev/mapper/vm bs=4096 seek="$1" conv=sync \
		oflag=direct 2>/dev/null || fail "write block $1"
}

_text() {
	dd if="$1" bs=4096 skip="$2" count=1 iflag=direct 2>/dev/null |
		tr -d '\000' | head -n 1
}

got() { _text /dev/mapper/vm "$1"; }
raw() { _text "$origin" "$1"; }

expect() {
	_g=$(got "$1")
	[ "$_g" = "$2" ] || fail "$3: block $1 reads '$_g', expected '$2'"
}
