// SPDX-License-Identifier: GPL-2.0-only
/*
 * vwc-damage: read, damage and craft the metadata of an offline dm-vwcache
 * pool, with the module's own format code (drivers/md/dm-vwcache-format.c,
 * built in userspace), so crafted records carry valid checksums; and
 * tagged data blocks to tell whose data a VM device returns.  Guest tool of
 * tests/vm/tests/80-corrupt-metadata.sh and 75-isolation.sh.
 *
 *   format-noattach DEV BS       format a pool as a module from before the
 *                                attachment table did (incompat 0)
 *   info DEV                     superblocks, layout, VM records, entries
 *   meta-sectors DEV             sectors up to the data area (for backups)
 *   sb-flip DEV COPY SEED N      flip N random bits of a superblock copy,
 *                                never in its magic (bytes 4..7)
 *   sb-csum DEV COPY             break the checksum of a copy
 *   sb-set DEV COPY FIELD VALUE  set a field and checksum it again
 *                                (seq version copy magic block_size max_vms
 *                                dev_sectors nr_blocks entries_start
 *                                data_start attach_start incompat
 *                                compat_ro)
 *   sb-grow DEV COPY FACTOR      a consistent layout for a device FACTOR
 *                                times larger (the device looks truncated)
 *   sb-swap DEV                  exchange the two copies (both misplaced)
 *   entry-list DEV               "index slot vm_id oblock dirty" per valid entry
 *   entry-set DEV IDX SLOT OBLOCK DIRTY   a valid entry at the committed seq
 *   entry-dup DEV SRC DST        entry DST claims the block of entry SRC
 *   entry-flip DEV IDX BIT       flip one bit of an entry
 *   entry-sub DEV IDX VALID BASE  a valid entry's sub-block maps set
 *                                (SUBBLOCKS; valid checksum)
 *   vm-set DEV SLOT VM_ID        an in-use VM record (valid checksum)
 *   vm-copy DEV SRC DST          record DST names the vm_id of record SRC
 *   vm-flip DEV SLOT BIT         flip one bit of a VM record
 *   vm-fill DEV                  every free VM slot in use ("fill-N")
 *   attach-flip DEV SLOT BIT     flip one bit of an attachment record
 *   rand-flip DEV SEED N REGION  flip N random bits in REGION: sb0, sb1,
 *                                vmtab (its used pages), attach (the
 *                                attachment records of the used VM
 *                                pages), entries (used pages), meta (any
 *                                of those)
 *   tag-write DEV TAG FIRST COUNT       4 KiB blocks FIRST.. tagged TAG
 *   tag-check DEV FIRST COUNT TAG[,TAG]  every block must carry one of the
 *                                tags and its own block number; prints
 *                                "TAG=n ..." counts; exit 1 otherwise
 *   asuser UID CMD [ARG...]      run CMD as UID/GID (setgroups, setgid,
 *                                setuid), for the root-only checks
 *
 * Metadata I/O is O_DIRECT, whole 4 KiB pages.  Exit 0 on success, 1 on a
 * failed check, 2 on a usage or I/O error.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dm-vwcache-format.h"

#define PAGE 4096

static const char *dev;
static int fd = -1;

static void die(const char *msg)
{
	fprintf(stderr, "vwc-damage: %s\n", msg);
	exit(2);
}

static void *page_alloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, PAGE, n))
		die("out of memory");
	memset(p, 0, n);
	return p;
}

static void open_dev(int flags)
{
	fd = open(dev, flags | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		exit(2);
	}
}

static void rd(void *buf, size_t len, uint64_t off)
{
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("read failed");
}

static void wr(const void *buf, size_t len, uint64_t off)
{
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len || fsync(fd))
		die("write failed");
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (!*s || *end)
		die("bad number");
	return v;
}

/* ---- superblock -------------------------------------------------------- */

static void *sbbuf[2];
static struct vwc_sb sb;	/* the one in force */
static u32 seed;

static void load_sb(void)
{
	const char *error = NULL;
	int i;

	for (i = 0; i < 2; i++) {
		sbbuf[i] = page_alloc(PAGE);
		rd(sbbuf[i], PAGE, (uint64_t)i * PAGE);
	}
	if (vwc_sb_choose(sbbuf[0], sbbuf[1], &sb, &error)) {
		fprintf(stderr, "vwc-damage: no valid superblock: %s\n",
			error ? error : "blank");
		exit(2);
	}
	seed = vwc_uuid_seed(sb.uuid);
}

static void sb_recsum(void *buf)
{
	struct vwc_disk_sb *d = buf;

	d->csum = cpu_to_le32(crc32c(~0U, (u8 *)buf + 4, VWC_SB_SIZE - 4));
}

static void *raw_sb(int copy)
{
	void *b = page_alloc(PAGE);

	rd(b, PAGE, (uint64_t)copy * PAGE);
	return b;
}

/* ---- pages of records -------------------------------------------------- */

static uint64_t vm_off(u32 slot)
{
	return sb.layout.vm_table_start * 512 + (uint64_t)slot * sizeof(struct vwc_disk_vm);
}

static uint64_t attach_off(u32 slot)
{
	if (!sb.layout.attach_start)
		die("the pool has no attachment table");
	return sb.layout.attach_start * 512 +
	       (uint64_t)slot * sizeof(struct vwc_disk_attach);
}

static uint64_t entry_off(uint64_t idx)
{
	return sb.layout.entries_start * 512 + idx * sb.layout.entry_size;
}

/* Read-modify-write of the page holding bytes [off, off + len). */
static void rmw(uint64_t off, const void *data, size_t len)
{
	uint64_t p = off & ~(uint64_t)(PAGE - 1);
	u8 *b = page_alloc(PAGE);

	rd(b, PAGE, p);
	memcpy(b + (off - p), data, len);
	wr(b, PAGE, p);
	free(b);
}

static void get(uint64_t off, void *data, size_t len)
{
	uint64_t p = off & ~(uint64_t)(PAGE - 1);
	u8 *b = page_alloc(PAGE);

	rd(b, PAGE, p);
	memcpy(data, b + (off - p), len);
	free(b);
}

static enum vwc_decode_result get_vm(u32 slot, struct vwc_vm_record *r)
{
	struct vwc_disk_vm d;

	get(vm_off(slot), &d, sizeof(d));
	return vwc_vm_decode(&d, slot, UINT64_MAX, seed, r);
}

static enum vwc_decode_result get_entry(uint64_t idx, struct vwc_entry *e)
{
	struct vwc_disk_entry_sub d;

	/* Pages above the watermark (LAZY_ENTRIES) are never read: free. */
	if (idx / vwc_entries_per_page(&sb.layout) >=
	    vwc_sb_entry_pages_read(&sb)) {
		memset(e, 0, sizeof(*e));
		return VWC_REC_EMPTY;
	}
	get(entry_off(idx), &d, sb.layout.entry_size);
	return vwc_entry_decode(&sb.layout, &d, idx, sb.seq, seed, e);
}

static void put_entry(uint64_t idx, const struct vwc_entry *e)
{
	struct vwc_disk_entry_sub d;

	vwc_entry_encode(&sb.layout, &d, idx, e, sb.seq, seed);
	rmw(entry_off(idx), &d, sb.layout.entry_size);
}

static void put_vm(u32 slot, const char *id, u64 generation)
{
	struct vwc_vm_record r = { 0 };
	struct vwc_disk_vm d;

	snprintf(r.vm_id, sizeof(r.vm_id), "%s", id);
	r.in_use = true;
	r.generation = generation;
	vwc_vm_encode(&d, slot, &r, sb.seq, seed);
	rmw(vm_off(slot), &d, sizeof(d));
}

/* Whole pages holding VM records / entries in use (for rand-flip). */
static uint64_t used_vm_pages(void)
{
	u32 i, last = 0;
	struct vwc_vm_record r;

	for (i = 0; i < sb.layout.max_vms; i++)
		if (get_vm(i, &r) != VWC_REC_EMPTY)
			last = i;
	return (vm_off(last) - vm_off(0)) / PAGE + 1;
}

static uint64_t used_entry_pages(void)
{
	uint64_t i, last = 0;
	struct vwc_entry e;

	for (i = 0; i < sb.layout.nr_blocks; i++)
		if (get_entry(i, &e) != VWC_REC_EMPTY)
			last = i;
	return (entry_off(last) - entry_off(0)) / PAGE + 1;
}

/* ---- commands ---------------------------------------------------------- */

static const char *res_name(enum vwc_decode_result r)
{
	switch (r) {
	case VWC_REC_EMPTY: return "empty";
	case VWC_REC_OK: return "ok";
	case VWC_REC_UNCOMMITTED: return "uncommitted";
	default: return "CORRUPT";
	}
}

static int cmd_info(void)
{
	const struct vwc_layout *l = &sb.layout;
	struct vwc_vm_record r;
	struct vwc_entry e;
	uint64_t i, valid = 0, dirty = 0, other = 0;
	int c;

	for (c = 0; c < 2; c++) {
		struct vwc_sb s;
		const char *err = "ok";

		if (vwc_sb_decode(sbbuf[c], (u32)c, &s, &err))
			printf("sb copy %d: %s\n", c, err);
		else
			printf("sb copy %d: seq %" PRIu64 "\n", c, s.seq);
	}
	printf("in force: copy %u seq %" PRIu64 " block_size %u nr_blocks %" PRIu64
	       " dev_sectors %" PRIu64 " entries_start %" PRIu64 " data_start %" PRIu64 "\n",
	       sb.copy, sb.seq, l->block_size, l->nr_blocks, l->dev_sectors,
	       l->entries_start, l->data_start);
	printf("entry pages read: %" PRIu64 " of %" PRIu64 "%s\n",
	       vwc_sb_entry_pages_read(&sb), vwc_entry_pages(l),
	       sb.incompat & VWC_FEATURE_INCOMPAT_LAZY_ENTRIES ? " (lazy)" : "");
	printf("entry format: %u bytes, %u a page, %u sub-blocks a block\n",
	       l->entry_size, vwc_entries_per_page(l), l->subblocks);
	for (i = 0; i < l->max_vms; i++) {
		enum vwc_decode_result res = get_vm((u32)i, &r);

		if (res == VWC_REC_EMPTY)
			continue;
		printf("vm slot %" PRIu64 ": %s %s gen %" PRIu64 "\n", i, res_name(res),
		       r.in_use ? r.vm_id : "(free)", r.generation);
	}
	for (i = 0; i < l->nr_blocks; i++) {
		enum vwc_decode_result res = get_entry(i, &e);

		if (res == VWC_REC_OK && e.valid) {
			valid++;
			dirty += e.dirty;
		} else if (res != VWC_REC_OK && res != VWC_REC_EMPTY) {
			other++;
		}
	}
	printf("entries: %" PRIu64 " valid, %" PRIu64 " dirty, %" PRIu64
	       " uncommitted or corrupt\n", valid, dirty, other);
	return 0;
}

static int cmd_entry_list(void)
{
	struct vwc_vm_record r;
	struct vwc_entry e;
	uint64_t i;

	for (i = 0; i < sb.layout.nr_blocks; i++) {
		if (get_entry(i, &e) != VWC_REC_OK || !e.valid)
			continue;
		get_vm(e.vm, &r);
		printf("%" PRIu64 " %u %s %" PRIu64 " %d\n", i, e.vm,
		       r.in_use ? r.vm_id : "-", e.oblock, e.dirty);
	}
	return 0;
}

static void flip_bit(uint64_t byte_off, unsigned int bit)
{
	u8 b;

	get(byte_off, &b, 1);
	b ^= (u8)(1u << (bit & 7));
	rmw(byte_off, &b, 1);
}

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DULL;
}

static int cmd_sb_set(int copy, const char *field, uint64_t v)
{
	u8 *b = raw_sb(copy);
	struct vwc_disk_sb *d = (struct vwc_disk_sb *)b;

	if (!strcmp(field, "seq")) d->seq = cpu_to_le64(v);
	else if (!strcmp(field, "version")) d->version = cpu_to_le32((u32)v);
	else if (!strcmp(field, "copy")) d->copy = cpu_to_le32((u32)v);
	else if (!strcmp(field, "magic")) d->magic = cpu_to_le32((u32)v);
	else if (!strcmp(field, "block_size")) d->block_size = cpu_to_le32((u32)v);
	else if (!strcmp(field, "max_vms")) d->max_vms = cpu_to_le32((u32)v);
	else if (!strcmp(field, "dev_sectors")) d->dev_sectors = cpu_to_le64(v);
	else if (!strcmp(field, "nr_blocks")) d->nr_blocks = cpu_to_le64(v);
	else if (!strcmp(field, "entries_start")) d->entries_start = cpu_to_le64(v);
	else if (!strcmp(field, "attach_start")) d->attach_start = cpu_to_le64(v);
	else if (!strcmp(field, "entries_init")) d->entries_init = cpu_to_le64(v);
	else if (!strcmp(field, "data_start")) d->data_start = cpu_to_le64(v);
	else if (!strcmp(field, "incompat")) d->incompat = cpu_to_le64(v);
	else if (!strcmp(field, "compat_ro")) d->compat_ro = cpu_to_le64(v);
	else die("unknown superblock field");
	sb_recsum(b);
	wr(b, PAGE, (uint64_t)copy * PAGE);
	return 0;
}

static int cmd_sb_grow(int copy, uint64_t factor)
{
	u8 *b = raw_sb(copy);
	struct vwc_sb s;
	struct vwc_layout l;
	const char *err;

	if (vwc_sb_decode(b, (u32)copy, &s, &err))
		die(err);
	if (vwc_layout_compute(s.layout.dev_sectors * factor, s.layout.block_size, s.incompat, &l))
		die("no layout");
	s.layout = l;
	vwc_sb_encode(&s, b);
	wr(b, PAGE, (uint64_t)copy * PAGE);
	return 0;
}

static int cmd_rand_flip(uint64_t s, unsigned int n, const char *region)
{
	uint64_t vm_pages = used_vm_pages(), e_pages = used_entry_pages();
	unsigned int i;

	rng = s * 0x9E3779B97F4A7C15ULL + 1;
	for (i = 0; i < n; i++) {
		const char *reg = region;
		uint64_t off;
		unsigned int bit = (unsigned int)(rnd() % 8);

		if (!strcmp(reg, "meta"))
			reg = (const char *[]){ "sb0", "sb1", "vmtab", "entries",
						"attach" }[rnd() % (sb.layout.attach_start ? 5 : 4)];
		if (!strcmp(reg, "sb0") || !strcmp(reg, "sb1"))
			off = (uint64_t)(reg[2] - '0') * PAGE + rnd() % 128;
		else if (!strcmp(reg, "vmtab"))
			off = vm_off(0) + rnd() % (vm_pages * PAGE);
		else if (!strcmp(reg, "attach"))
			off = attach_off(0) + rnd() % (vm_pages * VWC_VMS_PER_PAGE *
						       sizeof(struct vwc_disk_attach));
		else if (!strcmp(reg, "entries"))
			off = entry_off(0) + rnd() % (e_pages * PAGE);
		else
			die("unknown region");
		flip_bit(off, bit);
		printf("flipped bit %u of byte %" PRIu64 " (%s)\n", bit, off, reg);
	}
	return 0;
}

/*
 * A pool as the module formatted it before the attachment table: that
 * layout, the metadata zeroed, copy 1 as commit 1 and copy 0 as commit 2.
 */
static int cmd_format_noattach(u32 bs)
{
	off_t size = lseek(fd, 0, SEEK_END);
	struct vwc_layout l;
	struct vwc_sb s;
	uint64_t off;
	u8 uuid[16], *buf = page_alloc(1 << 20);
	unsigned int i;

	if (size < 0 || vwc_layout_compute((uint64_t)size >> 9, bs, 0, &l))
		die("no layout for that device and block size");
	memset(buf, 0, 1 << 20);
	for (off = l.vm_table_start * 512; off < l.data_start * 512;
	     off += 1 << 20)
		wr(buf, (size_t)(l.data_start * 512 - off < (1 << 20) ?
				 l.data_start * 512 - off : 1 << 20), off);
	rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL + 1;
	for (i = 0; i < sizeof(uuid); i++)
		uuid[i] = (u8)rnd();
	vwc_sb_init(&s, &l, uuid);
	if (s.incompat)
		die("the old layout has no incompat feature");
	s.seq = 1;
	s.copy = 1;
	vwc_sb_encode(&s, buf);
	wr(buf, PAGE, PAGE);
	s.seq = 2;
	s.copy = 0;
	vwc_sb_encode(&s, buf);
	wr(buf, PAGE, 0);
	return 0;
}

/* ---- tagged data ------------------------------------------------------- */

static void tag_fill(u8 *b, const char *tag, uint64_t blk)
{
	uint64_t x = blk * 0x9E3779B97F4A7C15ULL + 7;
	size_t i, n;

	for (i = 0; tag[i]; i++)
		x = (x ^ (u8)tag[i]) * 0x100000001B3ULL;
	n = (size_t)snprintf((char *)b, 64, "vwtag %s %" PRIu64 "\n", tag, blk);
	for (i = n; i < PAGE; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		b[i] = (u8)(x * 0x2545F4914F6CDD1DULL >> 56);
	}
}

static int cmd_tag_write(const char *tag, uint64_t first, uint64_t count)
{
	u8 *b = page_alloc(PAGE);
	uint64_t i;

	for (i = first; i < first + count; i++) {
		tag_fill(b, tag, i);
		if (pwrite(fd, b, PAGE, (off_t)(i * PAGE)) != PAGE)
			die("write failed");
	}
	if (fsync(fd))
		die("fsync failed");
	return 0;
}

static int cmd_tag_check(uint64_t first, uint64_t count, char *allowed)
{
	u8 *b = page_alloc(PAGE), *want = page_alloc(PAGE);
	char tags[16][64], found[64];
	uint64_t counts[17] = { 0 }, i, blk;
	int nt = 0, t, bad = 0;
	char *tok, *all = strdup(allowed);

	for (tok = strtok(allowed, ","); tok && nt < 16; tok = strtok(NULL, ","))
		snprintf(tags[nt++], 64, "%s", tok);
	for (i = first; i < first + count; i++) {
		if (pread(fd, b, PAGE, (off_t)(i * PAGE)) != PAGE)
			die("read failed");
		found[0] = '\0';
		blk = UINT64_MAX;
		if (sscanf((char *)b, "vwtag %63s %" SCNu64, found, &blk) == 2) {
			tag_fill(want, found, blk);
			if (memcmp(want, b, PAGE))
				snprintf(found, sizeof(found), "(torn)");
		} else {
			snprintf(found, sizeof(found), "(untagged)");
		}
		for (t = 0; t < nt; t++)
			if (!strcmp(found, tags[t]) && blk == i)
				break;
		counts[t]++;
		if (t == nt) {
			if (bad++ < 10)
				printf("block %" PRIu64 ": %s block %" PRIu64 " (allowed: %s)\n",
				       i, found, blk == UINT64_MAX ? 0 : blk, all);
		}
	}
	for (t = 0; t < nt; t++)
		printf("%s%s=%" PRIu64, t ? " " : "", tags[t], counts[t]);
	printf(" other=%" PRIu64 "\n", counts[nt]);
	return bad ? 1 : 0;
}

static int cmd_asuser(uid_t uid, char **argv)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		perror("asuser");
		return 2;
	}
	execvp(argv[0], argv);
	perror(argv[0]);
	return 127;
}

static void usage(void)
{
	fputs("usage: vwc-damage COMMAND DEV ARGS... (see the head of vwc-damage.c)\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 3)
		usage();
	cmd = argv[1];
	if (!strcmp(cmd, "asuser"))
		return cmd_asuser((uid_t)num(argv[2]), argv + 3);
	dev = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "tag-write") && argc == 6) {
		open_dev(O_RDWR);
		return cmd_tag_write(argv[3], num(argv[4]), num(argv[5]));
	}
	if (!strcmp(cmd, "tag-check") && argc == 6) {
		open_dev(O_RDONLY);
		return cmd_tag_check(num(argv[3]), num(argv[4]), argv[5]);
	}
	open_dev(O_RDWR);
	if (!strcmp(cmd, "format-noattach") && argc == 4)
		return cmd_format_noattach((u32)num(argv[3]));
	if (!strcmp(cmd, "sb-csum") && argc == 4) {
		u8 *b = raw_sb((int)num(argv[3]));

		b[0] ^= 1;
		wr(b, PAGE, num(argv[3]) * PAGE);
		return 0;
	}
	if (!strcmp(cmd, "sb-flip") && argc == 6) {
		int copy = (int)num(argv[3]);
		uint64_t n = num(argv[5]), i;

		rng = num(argv[4]) * 0x9E3779B97F4A7C15ULL + 1;
		for (i = 0; i < n; i++) {
			uint64_t off;

			do
				off = rnd() % PAGE;
			while (off >= 4 && off < 8);
			flip_bit((uint64_t)copy * PAGE + off, (unsigned int)(rnd() % 8));
		}
		return 0;
	}
	if (!strcmp(cmd, "sb-set") && argc == 6)
		return cmd_sb_set((int)num(argv[3]), argv[4], num(argv[5]));
	if (!strcmp(cmd, "sb-swap") && argc == 3) {
		u8 *a = raw_sb(0), *b = raw_sb(1);

		wr(a, PAGE, PAGE);
		wr(b, PAGE, 0);
		return 0;
	}
	load_sb();
	if (!strcmp(cmd, "info") && argc == 3)
		return cmd_info();
	if (!strcmp(cmd, "meta-sectors") && argc == 3) {
		printf("%" PRIu64 "\n", sb.layout.data_start);
		return 0;
	}
	if (!strcmp(cmd, "sb-grow") && argc == 5)
		return cmd_sb_grow((int)num(argv[3]), num(argv[4]));
	if (!strcmp(cmd, "entry-list") && argc == 3)
		return cmd_entry_list();
	if (!strcmp(cmd, "entry-set") && argc == 7) {
		struct vwc_entry e = {
			.oblock = num(argv[5]), .vm = (u32)num(argv[4]),
			.valid = true, .dirty = num(argv[6]) != 0,
			.map = vwc_sub_full(&sb.layout),
		};

		put_entry(num(argv[3]), &e);
		return 0;
	}
	if (!strcmp(cmd, "entry-dup") && argc == 5) {
		struct vwc_entry e;

		if (get_entry(num(argv[3]), &e) != VWC_REC_OK || !e.valid)
			die("source entry is not valid");
		put_entry(num(argv[4]), &e);
		return 0;
	}
	if (!strcmp(cmd, "entry-sub") && argc == 6) {
		struct vwc_entry e;

		if (!vwc_has_sub(&sb.layout))
			die("the pool has no sub-block maps");
		if (get_entry(num(argv[3]), &e) != VWC_REC_OK || !e.valid)
			die("entry is not valid");
		e.map = (u16)num(argv[4]);
		e.base = (u16)num(argv[5]);
		put_entry(num(argv[3]), &e);
		return 0;
	}
	if (!strcmp(cmd, "entry-flip") && argc == 5) {
		uint64_t bit = num(argv[4]);

		flip_bit(entry_off(num(argv[3])) + bit / 8, (unsigned int)(bit % 8));
		return 0;
	}
	if (!strcmp(cmd, "vm-set") && argc == 5) {
		put_vm((u32)num(argv[3]), argv[4], 1);
		return 0;
	}
	if (!strcmp(cmd, "vm-copy") && argc == 5) {
		struct vwc_vm_record r;

		if (get_vm((u32)num(argv[3]), &r) != VWC_REC_OK || !r.in_use)
			die("source record is not in use");
		put_vm((u32)num(argv[4]), r.vm_id, r.generation);
		return 0;
	}
	if (!strcmp(cmd, "vm-flip") && argc == 5) {
		uint64_t bit = num(argv[4]);

		flip_bit(vm_off((u32)num(argv[3])) + bit / 8, (unsigned int)(bit % 8));
		return 0;
	}
	if (!strcmp(cmd, "attach-flip") && argc == 5) {
		uint64_t bit = num(argv[4]);

		flip_bit(attach_off((u32)num(argv[3])) + bit / 8,
			 (unsigned int)(bit % 8));
		return 0;
	}
	if (!strcmp(cmd, "vm-fill") && argc == 3) {
		/* the whole table in memory: one write, not one per record */
		size_t size = (size_t)sb.layout.max_vms * sizeof(struct vwc_disk_vm);
		struct vwc_disk_vm *t = page_alloc(size);
		struct vwc_vm_record r;
		u32 i, n = 0;

		rd(t, size, vm_off(0));
		for (i = 0; i < sb.layout.max_vms; i++) {
			if (vwc_vm_decode(&t[i], i, UINT64_MAX, seed, &r) == VWC_REC_OK &&
			    r.in_use)
				continue;
			memset(&r, 0, sizeof(r));
			snprintf(r.vm_id, sizeof(r.vm_id), "fill-%u", i);
			r.in_use = true;
			r.generation = 1;
			vwc_vm_encode(&t[i], i, &r, sb.seq, seed);
			n++;
		}
		wr(t, size, vm_off(0));
		printf("%u records filled\n", n);
		return 0;
	}
	if (!strcmp(cmd, "rand-flip") && argc == 6)
		return cmd_rand_flip(num(argv[3]), (unsigned int)num(argv[4]), argv[5]);
	usage();
	return 2;
}
