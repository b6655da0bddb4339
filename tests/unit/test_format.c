// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of dm-vwcache-format.c: layout arithmetic, superblock and
 * record round trips, and that damage of any kind is refused.
 */
#include <stdlib.h>

#include "dm-vwcache-format.h"
#include "unit.h"

static const u8 uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
			     15, 16 };

static void test_crc32c(void)
{
	/* The standard check value of CRC-32C. */
	CHECK((crc32c(~0U, "123456789", 9) ^ ~0U) == 0xe3069283u);
}

static void check_layout_features(u64 sectors, u32 bs, u64 incompat)
{
	struct vwc_layout l;
	u64 bss = bs >> 9;

	CHECK(vwc_layout_compute(sectors, bs, incompat, &l) == 0);
	CHECK(l.entries_start % VWC_META_ALIGN_SECTORS == 0);
	if (incompat & VWC_FEATURE_INCOMPAT_ATTACH)
		CHECK(l.attach_start == 1040 && l.entries_start == 1040 + 4096);
	else
		CHECK(l.attach_start == 0 && l.entries_start == 1040);
	CHECK(l.data_start % bss == 0);
	CHECK(l.entries_start + vwc_entries_sectors(&l) <= l.data_start);
	CHECK(l.data_start + l.nr_blocks * bss <= sectors);
	/* Tight: one more block would not fit. */
	CHECK(l.data_start + (l.nr_blocks + 1) * bss > sectors ||
	      l.entries_start + DIV_ROUND_UP((l.nr_blocks + 1) * 16, 512) >
	      l.data_start);
}

static void check_layout(u64 sectors, u32 bs)
{
	check_layout_features(sectors, bs, 0);
	check_layout_features(sectors + 4096, bs, VWC_FEATURE_INCOMPAT_ATTACH);
}

static void test_layout(void)
{
	struct vwc_layout l;

	check_layout(2097152, 4096);		/* 1 GiB */
	check_layout(2097152 + 7, 4096);
	check_layout(2097152, 65536);
	check_layout(1ULL << 40, 4096);		/* 512 TiB */
	check_layout(1040 + 64 * 8 + 8 + 8, 4096);
	CHECK(vwc_layout_compute(1040 + 64 * 8, 4096, 0, &l) == -ENOSPC);
	CHECK(vwc_layout_compute(100, 4096, 0, &l) == -ENOSPC);
	CHECK(vwc_layout_compute(0, 4096, 0, &l) == -ENOSPC);
	CHECK(vwc_layout_compute(2097152, 3000, 0, &l) == -EINVAL);
	CHECK(vwc_layout_compute(1ULL << 60, 4096, 0, &l) == -EFBIG);
}

static void make_sb(u8 *buf, u64 seq, u32 copy)
{
	struct vwc_layout l;
	struct vwc_sb sb;

	vwc_layout_compute(2097152, 4096, VWC_FORMAT_INCOMPAT, &l);
	vwc_sb_init(&sb, &l, uuid);
	sb.seq = seq;
	sb.copy = copy;
	vwc_sb_encode(&sb, buf);
}

static void test_sb_roundtrip(void)
{
	static u8 buf[VWC_SB_SIZE];
	struct vwc_sb sb;
	const char *err = NULL;

	make_sb(buf, 42, 0);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == 0);
	CHECK(sb.seq == 42 && sb.copy == 0);
	CHECK(!memcmp(sb.uuid, uuid, 16));
	CHECK(sb.layout.block_size == 4096 && sb.layout.dev_sectors == 2097152);
	CHECK(vwc_sb_decode(buf, 1, &sb, &err) == -EINVAL);
	CHECK(!strcmp(err, "Pool superblock copy is misplaced"));
}

/* Every single bit flip anywhere in the superblock is refused. */
static void test_sb_bitflips(void)
{
	static u8 buf[VWC_SB_SIZE];
	struct vwc_sb sb;
	const char *err;
	unsigned int bit, refused = 0;

	for (bit = 0; bit < VWC_SB_SIZE * 8; bit++) {
		make_sb(buf, 42, 0);
		buf[bit / 8] ^= 1u << (bit % 8);
		err = NULL;
		if (vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL && err)
			refused++;
	}
	CHECK(refused == VWC_SB_SIZE * 8);
}

static void reseal(u8 *buf)
{
	struct vwc_disk_sb *d = (struct vwc_disk_sb *)buf;

	d->csum = cpu_to_le32(crc32c(~0U, buf + 4, VWC_SB_SIZE - 4));
}

/* Damage with a valid checksum is refused by the field checks. */
static void test_sb_fields(void)
{
	static u8 buf[VWC_SB_SIZE];
	struct vwc_disk_sb *d = (struct vwc_disk_sb *)buf;
	struct vwc_sb sb;
	const char *err;

	make_sb(buf, 42, 0);
	d->version = cpu_to_le32(2);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
	CHECK(!strcmp(err, "Unsupported pool metadata version"));

	make_sb(buf, 42, 0);
	d->incompat = cpu_to_le64(1ULL << 40);	/* unknown: refused */
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
	CHECK(!strcmp(err, "Pool superblock has unsupported feature flags"));

	make_sb(buf, 42, 0);		/* the feature without its table */
	d->incompat = cpu_to_le64(0);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
	CHECK(!strcmp(err, "Pool superblock layout is inconsistent"));

	make_sb(buf, 42, 0);
	d->attach_start = cpu_to_le64(0);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);

	make_sb(buf, 42, 0);
	d->compat = cpu_to_le64(1);	/* unknown compat flags are fine */
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == 0);

	make_sb(buf, 42, 0);
	d->nr_blocks = cpu_to_le64(le64_to_cpu(d->nr_blocks) + 1);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
	CHECK(!strcmp(err, "Pool superblock layout is inconsistent"));

	make_sb(buf, 42, 0);
	d->data_start = cpu_to_le64(0);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);

	make_sb(buf, 42, 0);
	d->block_size = cpu_to_le32(4097);
	reseal(buf);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);

	make_sb(buf, 0, 0);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
	make_sb(buf, 1ULL << 40, 0);
	CHECK(vwc_sb_decode(buf, 0, &sb, &err) == -EINVAL);
}

static void test_sb_choose(void)
{
	static u8 c0[VWC_SB_SIZE], c1[VWC_SB_SIZE];
	struct vwc_sb sb;
	const char *err = NULL;

	memset(c0, 0, sizeof(c0));
	make_sb(c1, 9, 1);
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == -ENODATA);

	make_sb(c0, 10, 0);
	make_sb(c1, 9, 1);
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == 0 && sb.seq == 10);
	make_sb(c1, 11, 1);
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == 0 && sb.seq == 11);

	/* Torn copy 0 (magic intact, checksum bad): copy 1 stands in. */
	make_sb(c0, 12, 0);
	c0[600] ^= 0xff;
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == 0 && sb.seq == 11);

	/* Torn copy 1: copy 0 stands. */
	make_sb(c0, 12, 0);
	c1[100] ^= 1;
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == 0 && sb.seq == 12);

	/* Foreign data over copy 0: refused even with a valid copy 1. */
	make_sb(c1, 11, 1);
	memset(c0, 0x5a, sizeof(c0));
	err = NULL;
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == -EINVAL);
	CHECK(err && strstr(err, "zero the first 4 KiB to format"));

	/* Both damaged. */
	make_sb(c0, 12, 0);
	c0[600] ^= 0xff;
	c1[100] ^= 1;
	CHECK(vwc_sb_choose(c0, c1, &sb, &err) == -EINVAL);
}

/* The entry checks of both entry sizes: 16 bytes, and 32 (SUBBLOCKS). */
static void test_entries_of(u64 incompat, u32 block_size)
{
	struct vwc_layout l;
	struct vwc_disk_entry_sub d;
	struct vwc_entry e = { .oblock = 123456789, .vm = 17, .valid = true,
			       .dirty = true, .map = 1 }, out;
	u32 seed = vwc_uuid_seed(uuid);
	unsigned int bit, bad = 0, bits;

	CHECK(!vwc_layout_compute(2097152, block_size, incompat, &l));
	bits = l.entry_size * 8;
	memset(&d, 0, sizeof(d));
	CHECK(vwc_entry_decode(&l, &d, 5, 100, seed, &out) == VWC_REC_EMPTY);

	vwc_entry_encode(&l, &d, 5, &e, 100, seed);
	CHECK(vwc_entry_decode(&l, &d, 5, 100, seed, &out) == VWC_REC_OK);
	CHECK(out.valid && out.dirty && out.oblock == 123456789 &&
	      out.vm == 17 && out.map == 1);
	CHECK(vwc_entry_decode(&l, &d, 5, 99, seed, &out) ==
	      VWC_REC_UNCOMMITTED);
	/* Misplaced (written for another index) or another pool's: damage. */
	CHECK(vwc_entry_decode(&l, &d, 6, 100, seed, &out) == VWC_REC_CORRUPT);
	CHECK(vwc_entry_decode(&l, &d, 5, 100, seed + 1, &out) ==
	      VWC_REC_CORRUPT);

	for (bit = 0; bit < bits; bit++) {
		struct vwc_disk_entry_sub x = d;

		((u8 *)&x)[bit / 8] ^= 1u << (bit % 8);
		if (vwc_entry_decode(&l, &x, 5, 1ULL << 39, seed, &out) !=
		    VWC_REC_OK)
			bad++;
	}
	CHECK(bad == bits);

	e.valid = false;
	vwc_entry_encode(&l, &d, 5, &e, 101, seed);
	CHECK(vwc_entry_decode(&l, &d, 5, 101, seed, &out) == VWC_REC_OK);
	CHECK(!out.valid);

	/* A VM index past the table is damage even with a good checksum. */
	l.max_vms = 16;
	e.valid = true;
	vwc_entry_encode(&l, &d, 5, &e, 101, seed);
	CHECK(vwc_entry_decode(&l, &d, 5, 101, seed, &out) == VWC_REC_CORRUPT);
}

static void test_entries(void)
{
	test_entries_of(VWC_FEATURE_INCOMPAT_ATTACH |
			VWC_FEATURE_INCOMPAT_LAZY_ENTRIES, 4096);
	test_entries_of(VWC_FORMAT_INCOMPAT, 4096);
	test_entries_of(VWC_FORMAT_INCOMPAT, 65536);
}

/*
 * SUBBLOCKS: the sub-block maps round trip; maps out of range are damage
 * even with a good checksum; a commit that grows a dirty block records
 * the committed map as base, and a torn one is scrubbed back to it.
 */
static void test_entry_subblocks(void)
{
	struct vwc_layout l, old;
	struct vwc_disk_entry_sub d;
	struct vwc_entry e = { .oblock = 77, .vm = 3, .valid = true,
			       .dirty = true, .map = 0x0005 }, out;
	u32 seed = vwc_uuid_seed(uuid);

	CHECK(!vwc_layout_compute(2097152, 16384, VWC_FORMAT_INCOMPAT, &l));
	CHECK(vwc_has_sub(&l) && l.subblocks == 4 && l.entry_size == 32 &&
	      vwc_sub_full(&l) == 0xf && vwc_entries_per_page(&l) == 128);
	CHECK(!vwc_layout_compute(2097152, 16384,
				  VWC_FEATURE_INCOMPAT_ATTACH, &old));
	CHECK(!vwc_has_sub(&old) && old.subblocks == 1 &&
	      old.entry_size == 16 && old.nr_blocks > l.nr_blocks);

	/* A 16-byte entry's block is valid whole. */
	vwc_entry_encode(&old, &d, 9, &e, 4, seed);
	CHECK(vwc_entry_decode(&old, &d, 9, 4, seed, &out) == VWC_REC_OK);
	CHECK(out.map == 1);

	memset(&d, 0, sizeof(d));
	CHECK(vwc_entry_update(&l, &d, 9, &e, 4, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 4, seed, &out) == VWC_REC_OK);
	CHECK(out.map == 0x5 && out.base == 0 && out.dirty);
	/* The same meaning again: not rewritten. */
	CHECK(!vwc_entry_update(&l, &d, 9, &e, 5, seed));

	/* Grown while dirty: base is the committed map. */
	e.map = 0x7;
	CHECK(vwc_entry_update(&l, &d, 9, &e, 5, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 5, seed, &out) == VWC_REC_OK);
	CHECK(out.map == 0x7 && out.base == 0x5);
	/* Torn: scrubbed back to its base, dirty, under the durable seq. */
	CHECK(vwc_entry_decode(&l, &d, 9, 4, seed, &out) ==
	      VWC_REC_UNCOMMITTED);
	CHECK(vwc_entry_scrub(&l, &d, 9, 4, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 4, seed, &out) == VWC_REC_OK);
	CHECK(out.valid && out.dirty && out.map == 0x5 && out.base == 0 &&
	      out.oblock == 77 && out.vm == 3);
	CHECK(!vwc_entry_scrub(&l, &d, 9, 4, seed));

	/* Written back (clean): base keeps the dirty map until committed. */
	e.dirty = false;
	e.map = 0x5;
	CHECK(vwc_entry_update(&l, &d, 9, &e, 5, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 5, seed, &out) == VWC_REC_OK);
	CHECK(!out.dirty && out.base == 0x5);
	/* Clean to free, or to another block: no base, a torn one is free. */
	e.valid = false;
	CHECK(vwc_entry_update(&l, &d, 9, &e, 6, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 6, seed, &out) == VWC_REC_OK);
	CHECK(!out.valid);
	e = (struct vwc_entry){ .oblock = 78, .vm = 3, .valid = true,
				.dirty = true, .map = 0x1 };
	CHECK(vwc_entry_update(&l, &d, 9, &e, 7, seed));
	e.oblock = 79;
	CHECK(vwc_entry_update(&l, &d, 9, &e, 8, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 8, seed, &out) == VWC_REC_OK);
	CHECK(out.base == 0);
	CHECK(vwc_entry_scrub(&l, &d, 9, 7, seed));
	CHECK(vwc_entry_decode(&l, &d, 9, 7, seed, &out) == VWC_REC_OK);
	CHECK(!out.valid);

	/* Maps out of range, sealed with a good checksum: damage. */
	e = (struct vwc_entry){ .oblock = 1, .vm = 1, .valid = true,
				.map = 0x10 };
	vwc_entry_encode(&l, &d, 2, &e, 3, seed);
	CHECK(vwc_entry_decode(&l, &d, 2, 3, seed, &out) == VWC_REC_CORRUPT);
	e.map = 0;
	vwc_entry_encode(&l, &d, 2, &e, 3, seed);
	CHECK(vwc_entry_decode(&l, &d, 2, 3, seed, &out) == VWC_REC_CORRUPT);
	e.map = 0x1;
	e.base = 0x2;
	vwc_entry_encode(&l, &d, 2, &e, 3, seed);
	CHECK(vwc_entry_decode(&l, &d, 2, 3, seed, &out) == VWC_REC_CORRUPT);
	CHECK(!vwc_entry_scrub(&l, &d, 2, 1, seed));
	e.base = 0;
	vwc_entry_encode(&l, &d, 2, &e, 3, seed);
	CHECK(vwc_entry_decode(&l, &d, 2, 3, seed, &out) == VWC_REC_OK);
	d.reserved[5] = 1;
	CHECK(vwc_entry_decode(&l, &d, 2, 3, seed, &out) == VWC_REC_CORRUPT);
}

static void test_vm_records(void)
{
	struct vwc_disk_vm d;
	struct vwc_vm_record r = { .generation = 3, .in_use = true }, out;
	u32 seed = vwc_uuid_seed(uuid);
	unsigned int bit, bad = 0;

	strcpy(r.vm_id, "guest-7.vda");
	memset(&d, 0, sizeof(d));
	CHECK(vwc_vm_decode(&d, 0, 10, seed, &out) == VWC_REC_EMPTY);
	vwc_vm_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_vm_decode(&d, 4, 10, seed, &out) == VWC_REC_OK);
	CHECK(out.in_use && !strcmp(out.vm_id, "guest-7.vda") &&
	      out.generation == 3);
	CHECK(vwc_vm_decode(&d, 4, 9, seed, &out) == VWC_REC_UNCOMMITTED);
	CHECK(vwc_vm_decode(&d, 3, 10, seed, &out) == VWC_REC_CORRUPT);
	for (bit = 0; bit < sizeof(d) * 8; bit++) {
		struct vwc_disk_vm x = d;

		((u8 *)&x)[bit / 8] ^= 1u << (bit % 8);
		if (vwc_vm_decode(&x, 4, 1ULL << 39, seed, &out) == VWC_REC_CORRUPT)
			bad++;
	}
	CHECK(bad == sizeof(d) * 8);

	/* A checksummed record with a bad name is still damage. */
	memset(&d, 0, sizeof(d));
	vwc_vm_encode(&d, 4, &r, 10, seed);
	d.vm_id[2] = ' ';
	d.csum = cpu_to_le32(crc32c(crc32c(seed, &d, 124),
				    &(__le32){ cpu_to_le32(4) }, 4));
	CHECK(vwc_vm_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
}

/* Re-checksum a VM record changed by hand, as a writer with bugs would. */
static void vm_reseal(struct vwc_disk_vm *d, u32 index, u32 seed)
{
	d->csum = cpu_to_le32(crc32c(crc32c(seed, d, 124),
				    &(__le32){ cpu_to_le32(index) }, 4));
}

/* VWC_FEATURE_COMPAT_ORIGIN_ID: the origin fields round trip and are checked. */
static void test_vm_origin(void)
{
	struct vwc_disk_vm d, good;
	struct vwc_vm_record r = { .generation = 9, .in_use = true }, out;
	struct vwc_origin_id other;
	u32 seed = vwc_uuid_seed(uuid);
	unsigned int i;

	strcpy(r.vm_id, "guest-9.vda");
	r.origin.kind = VWC_ORIGIN_DM_UUID;
	r.origin.sectors = 524288;
	for (i = 0; i < VWC_ORIGIN_DIGEST_SIZE; i++)
		r.origin.digest[i] = 0xa0 + i;
	vwc_vm_encode(&d, 7, &r, 10, seed);
	CHECK(le64_to_cpu(d.origin_sectors) == 524288);
	CHECK(d.origin_kind == VWC_ORIGIN_DM_UUID);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_OK);
	CHECK(!memcmp(&out.origin, &r.origin, sizeof(r.origin)));
	CHECK(vwc_origin_compare(&out.origin, &r.origin) == VWC_ORIGIN_SAME);
	CHECK(vwc_origin_equal(&out.origin, &r.origin));
	good = d;

	/* Records of a module without the feature: zeros, "not known". */
	memset(&d, 0, sizeof(d));
	memcpy(d.vm_id, "old-vm", 6);
	d.id_len = cpu_to_le32(6);
	d.generation = cpu_to_le64(4);
	d.seq = cpu_to_le64(3);
	d.flags = cpu_to_le32(VWC_VM_IN_USE);
	vm_reseal(&d, 2, seed);
	CHECK(vwc_vm_decode(&d, 2, 10, seed, &out) == VWC_REC_OK);
	CHECK(out.in_use && !vwc_origin_known(&out.origin));
	CHECK(vwc_origin_compare(&out.origin, &r.origin) == VWC_ORIGIN_SAME);

	/* A free record carries no origin; a known one is never encoded. */
	r.in_use = false;
	vwc_vm_encode(&d, 7, &r, 10, seed);
	CHECK(vwc_is_zero(&d.origin_sectors, 36));
	r.in_use = true;

	/* Damage with a valid checksum is refused, never trusted. */
	d = good;
	d.origin_kind = VWC_ORIGIN_KIND_MAX + 1;
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);
	d = good;
	d.origin_pad[1] = 1;
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);
	d = good;
	memset(d.origin_digest, 0, sizeof(d.origin_digest));
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);
	d = good;
	d.origin_sectors = 0;
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);
	d = good;
	d.origin_kind = VWC_ORIGIN_NONE;
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);
	d = good;
	d.flags = 0;
	d.id_len = 0;
	memset(d.vm_id, 0, sizeof(d.vm_id));
	vm_reseal(&d, 7, seed);
	CHECK(vwc_vm_decode(&d, 7, 10, seed, &out) == VWC_REC_CORRUPT);

	/* Another identity, or the same one resized, is another origin. */
	other = r.origin;
	other.digest[5] ^= 1;
	CHECK(vwc_origin_compare(&r.origin, &other) == VWC_ORIGIN_OTHER);
	other = r.origin;
	other.kind = VWC_ORIGIN_PATH;
	CHECK(vwc_origin_compare(&r.origin, &other) == VWC_ORIGIN_OTHER);
	other = r.origin;
	other.sectors++;
	CHECK(vwc_origin_compare(&r.origin, &other) == VWC_ORIGIN_RESIZED);
	CHECK(!vwc_origin_equal(&r.origin, &other));
	memset(&other, 0, sizeof(other));
	CHECK(vwc_origin_compare(&r.origin, &other) == VWC_ORIGIN_SAME);
	CHECK(!strcmp(vwc_origin_kind_name(VWC_ORIGIN_DM_UUID), "dm-uuid"));
	CHECK(!strcmp(vwc_origin_kind_name(200), "invalid"));
}

/*
 * A pool formatted now has both features (origin identity, attachment
 * table); pools from before, without them, load.
 */
static void test_sb_features(void)
{
	static u8 buf[VWC_SB_SIZE];
	struct vwc_layout l;
	struct vwc_sb sb, out;
	const char *err;

	CHECK(vwc_layout_compute(2097152, 4096, VWC_FORMAT_INCOMPAT, &l) == 0);
	vwc_sb_init(&sb, &l, uuid);
	CHECK(sb.compat == VWC_FEATURE_COMPAT_ORIGIN_ID);
	CHECK(sb.incompat == (VWC_FEATURE_INCOMPAT_ATTACH |
			      VWC_FEATURE_INCOMPAT_SUBBLOCKS));
	vwc_sb_encode(&sb, buf);
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == 0);
	CHECK(out.compat == VWC_FEATURE_COMPAT_ORIGIN_ID);
	CHECK(out.layout.attach_start == 1040);
	sb.compat = 0;
	vwc_sb_encode(&sb, buf);
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == 0 && out.compat == 0);
	CHECK(vwc_layout_compute(2097152, 4096, 0, &l) == 0);
	vwc_sb_init(&sb, &l, uuid);
	CHECK(sb.incompat == 0);
	vwc_sb_encode(&sb, buf);
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == 0);
	CHECK(out.layout.attach_start == 0 && out.layout.entries_start == 1040);
}

/*
 * VWC_FEATURE_INCOMPAT_LAZY_ENTRIES: the watermark round-trips, bounds the
 * pages read, and one out of range (or set without the feature) is refused.
 */
static void test_sb_lazy(void)
{
	static u8 buf[VWC_SB_SIZE];
	struct vwc_disk_sb *d = (struct vwc_disk_sb *)buf;
	struct vwc_layout l;
	struct vwc_sb sb, out;
	const char *err;
	u64 pages;

	CHECK(vwc_layout_compute(2097152, 4096, VWC_FORMAT_INCOMPAT, &l) == 0);
	pages = vwc_entry_pages(&l);
	CHECK(pages == DIV_ROUND_UP(l.nr_blocks, 128));
	vwc_sb_init(&sb, &l, uuid);
	CHECK(vwc_sb_entry_pages_read(&sb) == pages);
	vwc_sb_set_lazy(&sb);
	CHECK(sb.incompat == VWC_FORMAT_INCOMPAT);
	CHECK(vwc_sb_entry_pages_read(&sb) == 0);
	sb.entries_init = 7;
	vwc_sb_encode(&sb, buf);
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == 0);
	CHECK(out.entries_init == 7 && vwc_sb_entry_pages_read(&out) == 7);
	sb.entries_init = pages;
	vwc_sb_encode(&sb, buf);
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == 0);
	sb.entries_init = pages + 1;
	vwc_sb_encode(&sb, buf);
	err = NULL;
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == -EINVAL);
	CHECK(err && !strcmp(err, "Pool superblock entries watermark is out of range"));
	/* Without the feature the field is zero. */
	sb.entries_init = 3;
	sb.incompat &= ~VWC_FEATURE_INCOMPAT_LAZY_ENTRIES;
	vwc_sb_encode(&sb, buf);
	err = NULL;
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == -EINVAL);
	CHECK(err && !strcmp(err, "Pool superblock entries watermark is out of range"));
	/* A module without the feature refuses the pool: an unknown flag. */
	sb.entries_init = 0;
	sb.incompat |= 1ULL << 3;
	vwc_sb_encode(&sb, buf);
	err = NULL;
	CHECK(vwc_sb_decode(buf, 0, &out, &err) == -EINVAL);
	CHECK(err && !strcmp(err, "Pool superblock has unsupported feature flags"));
	CHECK(le64_to_cpu(d->entries_init) == 0);
}

/* A valid checksum over @d as it is: only the field checks judge it. */
static void reseal_attach(struct vwc_disk_attach *d, u32 index, u32 seed)
{
	__le32 idx = cpu_to_le32(index);

	d->csum = cpu_to_le32(crc32c(crc32c(seed, d,
					    offsetof(struct vwc_disk_attach,
						     csum)),
				     &idx, sizeof(idx)));
}

static void test_attach_records(void)
{
	struct vwc_disk_attach d, x;
	struct vwc_attach_record r = { 0 }, out;
	u32 seed = vwc_uuid_seed(uuid);
	unsigned int bit, bad = 0;

	CHECK(sizeof(d) == 512);
	strcpy(r.vm_id, "guest-7.vda");
	strcpy(r.path, "/dev/disk/by-id/dm-uuid-LVM-abc");
	vwc_vm_defaults(&r.settings);
	r.settings.mode = VWC_MODE_WRITETHROUGH;
	r.settings.iops_limit = 500;
	r.settings.cache_quota = 1000;
	r.settings.weight = 300;
	vwc_attach_encode(&d, 0, NULL, 10, seed);
	CHECK(vwc_attach_decode(&d, 0, 10, seed, &out) == VWC_REC_EMPTY);
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_OK);
	CHECK(!memcmp(&out, &r, sizeof(r)));
	CHECK(vwc_attach_decode(&d, 4, 9, seed, &out) == VWC_REC_UNCOMMITTED);
	CHECK(vwc_attach_decode(&d, 3, 10, seed, &out) == VWC_REC_CORRUPT);
	for (bit = 0; bit < sizeof(d) * 8; bit++) {
		x = d;
		((u8 *)&x)[bit / 8] ^= 1u << (bit % 8);
		if (vwc_attach_decode(&x, 4, 1ULL << 39, seed, &out) ==
		    VWC_REC_CORRUPT)
			bad++;
	}
	CHECK(bad == sizeof(d) * 8);

	/* Longest vm_id and path round trip. */
	memset(r.vm_id, 'a', VWC_VM_ID_MAX);
	r.vm_id[VWC_VM_ID_MAX] = '\0';
	memset(r.path, 'p', VWC_ATTACH_PATH_MAX);
	r.path[0] = '/';
	r.path[VWC_ATTACH_PATH_MAX] = '\0';
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_OK);
	CHECK(!memcmp(&out, &r, sizeof(r)));

	/* Out of range fields, resealed: damage. */
	strcpy(r.vm_id, "guest-7.vda");
	strcpy(r.path, "/dev/vdb");
	r.settings.weight = 0;
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	r.settings.weight = 100;
	r.settings.mode = 3;
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	r.settings.mode = 0;
	strcpy(r.path, "dev/vdb");
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	strcpy(r.path, "/dev/v db");
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	strcpy(r.path, "/dev/vdb");
	strcpy(r.vm_id, "bad id");
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	strcpy(r.vm_id, "ok");
	vwc_attach_encode(&d, 4, &r, 10, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_OK);
	d.reserved[7] = 1;		/* resealed: the field check refuses */
	reseal_attach(&d, 4, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_CORRUPT);
	d.reserved[7] = 0;
	reseal_attach(&d, 4, seed);
	CHECK(vwc_attach_decode(&d, 4, 10, seed, &out) == VWC_REC_OK);
	CHECK(vwc_attach_path_valid("/dev/vdb") && !vwc_attach_path_valid("") &&
	      !vwc_attach_path_valid("254:16"));
}

int main(void)
{
	test_crc32c();
	test_layout();
	test_sb_roundtrip();
	test_sb_bitflips();
	test_sb_fields();
	test_sb_choose();
	test_entries();
	test_entry_subblocks();
	test_vm_records();
	test_vm_origin();
	test_sb_features();
	test_sb_lazy();
	test_attach_records();
	return unit_report("test_format");
}
