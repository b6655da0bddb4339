// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache on-disk format: see include/uapi/linux/dm-vwcache.h for the
 * format and dm-vwcache-format.h for the rules of this file.
 */
#include "dm-vwcache-format.h"
#include "dm-vwcache-args.h"

#define VWC_SECTOR_SHIFT	9
#define VWC_MAX_DEV_SECTORS	(1ULL << 54)	/* 8 EiB */
#define VWC_SEQ_MASK		((1ULL << VWC_ENTRY_SEQ_BITS) - 1)
#define VWC_OBLOCK_MASK		((1ULL << VWC_ENTRY_OBLOCK_BITS) - 1)
#define VWC_VM_MASK		((1ULL << VWC_ENTRY_VM_BITS) - 1)
#define VWC_ENTRY_KNOWN		(VWC_OBLOCK_MASK | \
				 (VWC_VM_MASK << VWC_ENTRY_VM_SHIFT) | \
				 VWC_ENTRY_VALID | VWC_ENTRY_DIRTY)
#define VWC_CRC24_MASK		0xffffffu

bool vwc_is_zero(const void *buf, size_t len)
{
	const u8 *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

u32 vwc_uuid_seed(const u8 uuid[16])
{
	return crc32c(~0U, uuid, 16);
}

static u64 vwc_vm_table_sectors(void)
{
	return (u64)VWC_MAX_VMS * sizeof(struct vwc_disk_vm) >>
	       VWC_SECTOR_SHIFT;
}

static u64 vwc_attach_table_sectors(void)
{
	return (u64)VWC_MAX_VMS * sizeof(struct vwc_disk_attach) >>
	       VWC_SECTOR_SHIFT;
}

/* The sizes that follow from the features: entries and sub-blocks. */
static void vwc_layout_derive(struct vwc_layout *l, u32 block_size,
			      u64 incompat)
{
	bool sub = incompat & VWC_FEATURE_INCOMPAT_SUBBLOCKS;

	l->entry_size = sub ? sizeof(struct vwc_disk_entry_sub) :
			      sizeof(struct vwc_disk_entry);
	l->subblocks = sub ? block_size / VWC_SUBBLOCK_SIZE : 1;
}

static u64 vwc_entries_sectors_for(u64 nr_blocks, u32 entry_size)
{
	u64 bytes = nr_blocks * entry_size;

	return round_up(DIV_ROUND_UP(bytes, 1ULL << VWC_SECTOR_SHIFT),
			(u64)VWC_META_ALIGN_SECTORS);
}

u64 vwc_entries_sectors(const struct vwc_layout *l)
{
	return vwc_entries_sectors_for(l->nr_blocks, l->entry_size);
}

/* The 4 KiB pages that hold the entries of @l's blocks. */
u64 vwc_entry_pages(const struct vwc_layout *l)
{
	return DIV_ROUND_UP(l->nr_blocks, (u64)vwc_entries_per_page(l));
}

/*
 * How many entry pages, from the first, hold what their bytes say: all of
 * them without VWC_FEATURE_INCOMPAT_LAZY_ENTRIES (the format zeroed them),
 * else the superblock's watermark; the blocks above are free.
 */
u64 vwc_sb_entry_pages_read(const struct vwc_sb *sb)
{
	if (sb->incompat & VWC_FEATURE_INCOMPAT_LAZY_ENTRIES)
		return sb->entries_init;
	return vwc_entry_pages(&sb->layout);
}

/*
 * Lay out a pool of @block_size blocks on a device of @dev_sectors with
 * the @incompat features: the most data blocks that fit after the
 * superblocks, the VM table, the attachment table (with
 * VWC_FEATURE_INCOMPAT_ATTACH) and their own entries.  Deterministic:
 * load recomputes it to validate a superblock.
 */
int vwc_layout_compute(u64 dev_sectors, u32 block_size, u64 incompat,
		       struct vwc_layout *l)
{
	u64 bs_sectors = block_size >> VWC_SECTOR_SHIFT;
	u64 attach_start = VWC_VM_TABLE_SECTOR + vwc_vm_table_sectors();
	u64 entries_start = attach_start;
	u64 n, data_start = 0;
	struct vwc_layout d;

	if (incompat & VWC_FEATURE_INCOMPAT_ATTACH)
		entries_start += vwc_attach_table_sectors();
	else
		attach_start = 0;

	if (block_size < VWC_BLOCK_SIZE_MIN || block_size > VWC_BLOCK_SIZE_MAX ||
	    !is_power_of_2(block_size))
		return -EINVAL;
	if (dev_sectors > VWC_MAX_DEV_SECTORS)
		return -EFBIG;
	if (dev_sectors <= entries_start)
		return -ENOSPC;

	vwc_layout_derive(&d, block_size, incompat);
	n = ((dev_sectors - entries_start) << VWC_SECTOR_SHIFT) /
	    (block_size + d.entry_size);
	for (; n > 0; n--) {
		data_start = round_up(entries_start +
				      vwc_entries_sectors_for(n, d.entry_size),
				      bs_sectors);
		if (data_start + n * bs_sectors <= dev_sectors)
			break;
	}
	if (n < VWC_MIN_BLOCKS)
		return -ENOSPC;

	d.block_size = block_size;
	d.max_vms = VWC_MAX_VMS;
	d.dev_sectors = dev_sectors;
	d.vm_table_start = VWC_VM_TABLE_SECTOR;
	d.entries_start = entries_start;
	d.nr_blocks = n;
	d.data_start = data_start;
	d.attach_start = attach_start;
	*l = d;
	return 0;
}

void vwc_sb_init(struct vwc_sb *sb, const struct vwc_layout *l,
		 const u8 uuid[16])
{
	memset(sb, 0, sizeof(*sb));
	sb->layout = *l;
	sb->seq = 1;
	sb->compat = VWC_FEATURE_COMPAT_ORIGIN_ID;
	if (l->attach_start)
		sb->incompat = VWC_FEATURE_INCOMPAT_ATTACH;
	if (vwc_has_sub(l))
		sb->incompat |= VWC_FEATURE_INCOMPAT_SUBBLOCKS;
	memcpy(sb->uuid, uuid, sizeof(sb->uuid));
}

/* A pool formatted without zeroing its entries: none initialised yet. */
void vwc_sb_set_lazy(struct vwc_sb *sb)
{
	sb->incompat |= VWC_FEATURE_INCOMPAT_LAZY_ENTRIES;
	sb->entries_init = 0;
}

static u32 vwc_sb_csum(const void *buf)
{
	return crc32c(~0U, (const u8 *)buf + sizeof(__le32),
		      VWC_SB_SIZE - sizeof(__le32));
}

/* Encode @sb as copy sb->copy into the 4 KiB @buf. */
void vwc_sb_encode(const struct vwc_sb *sb, void *buf)
{
	struct vwc_disk_sb *d = buf;
	const struct vwc_layout *l = &sb->layout;

	memset(buf, 0, VWC_SB_SIZE);
	d->magic = cpu_to_le32(VWC_SB_MAGIC);
	d->version = cpu_to_le32(VWC_FORMAT_VERSION);
	d->copy = cpu_to_le32(sb->copy);
	d->seq = cpu_to_le64(sb->seq);
	d->compat = cpu_to_le64(sb->compat);
	d->compat_ro = cpu_to_le64(sb->compat_ro);
	d->incompat = cpu_to_le64(sb->incompat);
	memcpy(d->uuid, sb->uuid, sizeof(d->uuid));
	d->block_size = cpu_to_le32(l->block_size);
	d->max_vms = cpu_to_le32(l->max_vms);
	d->dev_sectors = cpu_to_le64(l->dev_sectors);
	d->vm_table_start = cpu_to_le64(l->vm_table_start);
	d->entries_start = cpu_to_le64(l->entries_start);
	d->nr_blocks = cpu_to_le64(l->nr_blocks);
	d->data_start = cpu_to_le64(l->data_start);
	d->attach_start = cpu_to_le64(l->attach_start);
	d->entries_init = cpu_to_le64(sb->entries_init);
	d->csum = cpu_to_le32(vwc_sb_csum(buf));
}

static int vwc_sb_check_layout(const struct vwc_disk_sb *d, u64 incompat,
			       struct vwc_layout *l, const char **error)
{
	struct vwc_layout want;

	l->block_size = le32_to_cpu(d->block_size);
	l->max_vms = le32_to_cpu(d->max_vms);
	l->dev_sectors = le64_to_cpu(d->dev_sectors);
	l->vm_table_start = le64_to_cpu(d->vm_table_start);
	l->entries_start = le64_to_cpu(d->entries_start);
	l->nr_blocks = le64_to_cpu(d->nr_blocks);
	l->data_start = le64_to_cpu(d->data_start);
	l->attach_start = le64_to_cpu(d->attach_start);
	vwc_layout_derive(l, l->block_size, incompat);

	if (vwc_layout_compute(l->dev_sectors, l->block_size, incompat,
			       &want) ||
	    memcmp(&want, l, sizeof(want))) {
		*error = "Pool superblock layout is inconsistent";
		return -EINVAL;
	}
	return 0;
}

/* Decode and validate superblock copy @copy from the 4 KiB @buf. */
int vwc_sb_decode(const void *buf, u32 copy, struct vwc_sb *sb,
		  const char **error)
{
	const struct vwc_disk_sb *d = buf;
	int r;

	memset(sb, 0, sizeof(*sb));
	if (le32_to_cpu(d->magic) != VWC_SB_MAGIC) {
		*error = "Cache device holds no vwcache pool superblock: zero the first 4 KiB to format";
		return -EINVAL;
	}
	if (le32_to_cpu(d->csum) != vwc_sb_csum(buf)) {
		*error = "Pool superblock checksum mismatch";
		return -EINVAL;
	}
	if (le32_to_cpu(d->version) != VWC_FORMAT_VERSION) {
		*error = "Unsupported pool metadata version";
		return -EINVAL;
	}
	if (le32_to_cpu(d->copy) != copy) {
		*error = "Pool superblock copy is misplaced";
		return -EINVAL;
	}
	sb->compat = le64_to_cpu(d->compat);
	sb->compat_ro = le64_to_cpu(d->compat_ro);
	sb->incompat = le64_to_cpu(d->incompat);
	if ((sb->incompat & ~VWC_FEATURE_INCOMPAT_SUPP) ||
	    (sb->compat_ro & ~VWC_FEATURE_COMPAT_RO_SUPP)) {
		*error = "Pool superblock has unsupported feature flags";
		return -EINVAL;
	}
	sb->seq = le64_to_cpu(d->seq);
	if (!sb->seq || sb->seq > VWC_SEQ_MASK) {
		*error = "Pool superblock sequence number is out of range";
		return -EINVAL;
	}
	sb->copy = copy;
	memcpy(sb->uuid, d->uuid, sizeof(sb->uuid));
	r = vwc_sb_check_layout(d, sb->incompat, &sb->layout, error);
	if (r)
		return r;
	sb->entries_init = le64_to_cpu(d->entries_init);
	if ((sb->incompat & VWC_FEATURE_INCOMPAT_LAZY_ENTRIES) ?
	    sb->entries_init > vwc_entry_pages(&sb->layout) :
	    sb->entries_init != 0) {
		*error = "Pool superblock entries watermark is out of range";
		return -EINVAL;
	}
	return 0;
}

/*
 * Pick the pool's state from the two superblock copies: the valid one with
 * the higher sequence.  Returns -ENODATA when the first 4 KiB (copy 0) are
 * all zero: the caller formats the device.  A torn write cannot zero copy 0
 * (its first sector always holds the magic), so only an operator does.
 * Copy 1 stands in for a damaged copy 0 only when copy 0 still has the
 * magic (a torn write); foreign data over copy 0 refuses the device.
 */
int vwc_sb_choose(const void *copy0, const void *copy1, struct vwc_sb *sb,
		  const char **error)
{
	struct vwc_sb s1;
	const char *e0 = NULL, *e1 = NULL;
	int r0, r1;

	if (vwc_is_zero(copy0, VWC_SB_SIZE))
		return -ENODATA;
	r0 = vwc_sb_decode(copy0, 0, sb, &e0);
	if (r0 && le32_to_cpu(((const struct vwc_disk_sb *)copy0)->magic) !=
	    VWC_SB_MAGIC) {
		/* Foreign data: never fall back to an old copy 1 under it. */
		*error = e0;
		return -EINVAL;
	}
	r1 = vwc_sb_decode(copy1, 1, &s1, &e1);
	if (!r1 && (r0 || s1.seq > sb->seq)) {
		*sb = s1;
		return 0;
	}
	if (!r0)
		return 0;
	*error = e0;
	return -EINVAL;
}

/*
 * The checksum of an entry: over map, sequence and index; with
 * SUBBLOCKS also over the valid and base sub-block maps (@sub).
 */
static u32 vwc_entry_crc(const struct vwc_layout *l, u64 map, u64 seq,
			 u64 index, u32 sub, u32 seed)
{
	__le64 buf[4];
	size_t len = vwc_has_sub(l) ? sizeof(buf) : 3 * sizeof(buf[0]);

	buf[0] = cpu_to_le64(map);
	buf[1] = cpu_to_le64(seq);
	buf[2] = cpu_to_le64(index);
	buf[3] = cpu_to_le64(sub);
	return crc32c(seed, buf, len) & VWC_CRC24_MASK;
}

static u64 vwc_entry_map(const struct vwc_entry *e)
{
	u64 map = 0;

	if (e->valid) {
		map = (e->oblock & VWC_OBLOCK_MASK) |
		      ((u64)(e->vm & VWC_VM_MASK) << VWC_ENTRY_VM_SHIFT) |
		      VWC_ENTRY_VALID;
		if (e->dirty)
			map |= VWC_ENTRY_DIRTY;
	}
	return map;
}

/* The sub-block maps of @e as stored: valid in bits 0-15, base 16-31. */
static u32 vwc_entry_sub(const struct vwc_layout *l, const struct vwc_entry *e)
{
	if (!vwc_has_sub(l) || !e->valid)
		return 0;
	return (u32)e->map | (u32)e->base << 16;
}

/* The raw fields of the entry at @d, whatever its size. */
struct vwc_raw_entry {
	u64 map;
	u64 check;
	u32 sub;
	bool reserved_zero;
};

static void vwc_entry_read(const struct vwc_layout *l, const void *d,
			   struct vwc_raw_entry *r)
{
	const struct vwc_disk_entry_sub *ds = d;

	r->map = le64_to_cpu(ds->map);
	r->check = le64_to_cpu(ds->check);
	r->sub = 0;
	r->reserved_zero = true;
	if (vwc_has_sub(l)) {
		r->sub = le16_to_cpu(ds->valid) |
			 (u32)le16_to_cpu(ds->base) << 16;
		r->reserved_zero = vwc_is_zero(ds->reserved,
					       sizeof(ds->reserved));
	}
}

static bool vwc_raw_empty(const struct vwc_raw_entry *r)
{
	return !r->map && !r->check && !r->sub && r->reserved_zero;
}

static bool vwc_raw_intact(const struct vwc_layout *l,
			   const struct vwc_raw_entry *r, u64 index, u32 seed)
{
	u64 seq = r->check & VWC_SEQ_MASK;

	return r->reserved_zero &&
	       (r->check >> VWC_ENTRY_SEQ_BITS) ==
	       vwc_entry_crc(l, r->map, seq, index, r->sub, seed);
}

void vwc_entry_encode(const struct vwc_layout *l, void *d, u64 index,
		      const struct vwc_entry *e, u64 seq, u32 seed)
{
	struct vwc_disk_entry_sub *ds = d;
	u64 map = vwc_entry_map(e);
	u32 sub = vwc_entry_sub(l, e);

	seq &= VWC_SEQ_MASK;
	memset(d, 0, l->entry_size);
	ds->map = cpu_to_le64(map);
	ds->check = cpu_to_le64(seq |
				((u64)vwc_entry_crc(l, map, seq, index, sub,
						    seed)
				 << VWC_ENTRY_SEQ_BITS));
	if (vwc_has_sub(l)) {
		ds->valid = cpu_to_le16((u16)sub);
		ds->base = cpu_to_le16((u16)(sub >> 16));
	}
}

/*
 * The sub-block maps of an intact entry @r: within the block, a valid
 * entry's non-empty, base within valid; a free entry's zero.
 */
static bool vwc_raw_sub_ok(const struct vwc_layout *l,
			   const struct vwc_raw_entry *r)
{
	u16 valid = (u16)r->sub, base = (u16)(r->sub >> 16);

	if (!vwc_has_sub(l))
		return true;
	if (!(r->map & VWC_ENTRY_VALID))
		return !r->sub;
	return valid && !(valid & ~vwc_sub_full(l)) && !(base & ~valid);
}

/* Intact, and no bit or map out of place: an entry a decoder may read. */
static bool vwc_raw_sound(const struct vwc_layout *l,
			  const struct vwc_raw_entry *r, u64 index, u32 seed)
{
	return vwc_raw_intact(l, r, index, seed) &&
	       !(r->map & ~VWC_ENTRY_KNOWN) && vwc_raw_sub_ok(l, r);
}

/* The VM and origin block that the map of @r names. */
static void vwc_raw_key(const struct vwc_raw_entry *r, struct vwc_entry *e)
{
	e->oblock = r->map & VWC_OBLOCK_MASK;
	e->vm = (r->map >> VWC_ENTRY_VM_SHIFT) & VWC_VM_MASK;
}

enum vwc_decode_result vwc_entry_decode(const struct vwc_layout *l,
					const void *d, u64 index, u64 sb_seq,
					u32 seed, struct vwc_entry *e)
{
	struct vwc_raw_entry r;
	u64 seq;

	vwc_entry_read(l, d, &r);
	seq = r.check & VWC_SEQ_MASK;
	memset(e, 0, sizeof(*e));
	if (vwc_raw_empty(&r))
		return VWC_REC_EMPTY;
	if (!vwc_raw_sound(l, &r, index, seed))
		return VWC_REC_CORRUPT;
	if (seq > sb_seq)
		return VWC_REC_UNCOMMITTED;
	if (!(r.map & VWC_ENTRY_VALID))
		return r.map ? VWC_REC_CORRUPT : VWC_REC_OK;
	e->valid = true;
	e->dirty = !!(r.map & VWC_ENTRY_DIRTY);
	vwc_raw_key(&r, e);
	e->map = vwc_has_sub(l) ? (u16)r.sub : 1;
	e->base = (u16)(r.sub >> 16);
	if (e->vm >= l->max_vms)
		return VWC_REC_CORRUPT;
	return VWC_REC_OK;
}

static u32 vwc_vm_crc(const struct vwc_disk_vm *d, u32 index, u32 seed)
{
	__le32 idx = cpu_to_le32(index);
	u32 crc = crc32c(seed, d, offsetof(struct vwc_disk_vm, csum));

	return crc32c(crc, &idx, sizeof(idx));
}

void vwc_vm_encode(struct vwc_disk_vm *d, u32 index,
		   const struct vwc_vm_record *r, u64 seq, u32 seed)
{
	size_t len = r->in_use ? strnlen(r->vm_id, VWC_VM_ID_MAX) : 0;

	memset(d, 0, sizeof(*d));
	memcpy(d->vm_id, r->vm_id, len);
	d->id_len = cpu_to_le32(len);
	d->generation = cpu_to_le64(r->in_use ? r->generation : 0);
	d->seq = cpu_to_le64(seq);
	d->flags = cpu_to_le32(r->in_use ? VWC_VM_IN_USE : 0);
	if (r->in_use && vwc_origin_known(&r->origin)) {
		d->origin_sectors = cpu_to_le64(r->origin.sectors);
		d->origin_kind = r->origin.kind;
		memcpy(d->origin_digest, r->origin.digest,
		       sizeof(d->origin_digest));
	}
	d->csum = cpu_to_le32(vwc_vm_crc(d, index, seed));
}

static bool vwc_vm_id_intact(const struct vwc_disk_vm *d, u32 len)
{
	u32 i;

	if (len == 0 || len > VWC_VM_ID_MAX)
		return false;
	for (i = 0; i < VWC_VM_ID_MAX; i++) {
		char c = d->vm_id[i];

		if ((i < len) != (c != 0))
			return false;
	}
	return true;
}

/*
 * The origin fields of a record (VWC_FEATURE_COMPAT_ORIGIN_ID): all zero
 * (not known), or a known kind with a size and a digest.  Anything else is
 * damage: an identity that cannot be trusted must not decide an attach.
 */
static bool vwc_vm_origin_decode(const struct vwc_disk_vm *d,
				 struct vwc_origin_id *o)
{
	bool no_digest = vwc_is_zero(d->origin_digest,
				     sizeof(d->origin_digest));

	o->sectors = le64_to_cpu(d->origin_sectors);
	o->kind = d->origin_kind;
	memcpy(o->digest, d->origin_digest, sizeof(o->digest));
	if (!vwc_is_zero(d->origin_pad, sizeof(d->origin_pad)))
		return false;
	if (o->kind == VWC_ORIGIN_NONE)
		return !o->sectors && no_digest;
	return o->kind <= VWC_ORIGIN_KIND_MAX && o->sectors && !no_digest;
}

/* ---- attachment records (VWC_FEATURE_INCOMPAT_ATTACH) ------------------ */

static u32 vwc_attach_crc(const struct vwc_disk_attach *d, u32 index,
			  u32 seed)
{
	__le32 idx = cpu_to_le32(index);
	u32 crc = crc32c(seed, d, offsetof(struct vwc_disk_attach, csum));

	return crc32c(crc, &idx, sizeof(idx));
}

/*
 * A path as a record keeps it: absolute, 1 to VWC_ATTACH_PATH_MAX
 * printable characters without blanks (a table line splits at blanks).
 */
bool vwc_attach_path_valid(const char *path)
{
	size_t i, len = strnlen(path, VWC_ATTACH_PATH_MAX + 1);

	if (len < 1 || len > VWC_ATTACH_PATH_MAX || path[0] != '/')
		return false;
	for (i = 0; i < len; i++)
		if (path[i] <= ' ' || path[i] > '~')
			return false;
	return true;
}

/* Encode @r, or a free slot's all-zero record when @r is NULL. */
void vwc_attach_encode(struct vwc_disk_attach *d, u32 index,
		       const struct vwc_attach_record *r, u64 seq, u32 seed)
{
	size_t id_len, path_len;

	memset(d, 0, sizeof(*d));
	if (!r)
		return;
	id_len = strnlen(r->vm_id, VWC_VM_ID_MAX);
	path_len = strnlen(r->path, VWC_ATTACH_PATH_MAX);
	memcpy(d->vm_id, r->vm_id, id_len);
	memcpy(d->path, r->path, path_len);
	d->id_len = cpu_to_le32(id_len);
	d->path_len = cpu_to_le32(path_len);
	d->seq = cpu_to_le64(seq);
	d->iops_limit = cpu_to_le64(r->settings.iops_limit);
	d->bw_limit = cpu_to_le64(r->settings.bw_limit);
	d->cache_quota = cpu_to_le64(r->settings.cache_quota);
	d->weight = cpu_to_le32(r->settings.weight);
	d->mode = cpu_to_le32(r->settings.mode);
	d->csum = cpu_to_le32(vwc_attach_crc(d, index, seed));
}

/*
 * @len (1 to @max) characters of @s, NUL padded to @size: copied to @out
 * (@max + 1 bytes) if so.
 */
static bool vwc_padded_string(const char *s, size_t size, u32 len,
			      size_t max, char *out)
{
	if (len == 0 || len > max || len > size || memchr(s, '\0', len) ||
	    !vwc_is_zero(s + len, size - len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/*
 * Decode an attachment record.  VWC_REC_OK only for an intact record of
 * a valid vm_id, path and settings; the caller matches the vm_id against
 * the VM record's (a record of another vm_id is stale, not damage).
 */
enum vwc_decode_result vwc_attach_decode(const struct vwc_disk_attach *d,
					 u32 index, u64 sb_seq, u32 seed,
					 struct vwc_attach_record *r)
{
	struct vwc_vm_settings *st = &r->settings;

	memset(r, 0, sizeof(*r));
	if (vwc_is_zero(d, sizeof(*d)))
		return VWC_REC_EMPTY;
	if (le32_to_cpu(d->csum) != vwc_attach_crc(d, index, seed))
		return VWC_REC_CORRUPT;
	if (le64_to_cpu(d->seq) > sb_seq)
		return VWC_REC_UNCOMMITTED;
	if (!vwc_is_zero(d->reserved, sizeof(d->reserved)) ||
	    !vwc_padded_string(d->vm_id, sizeof(d->vm_id),
			       le32_to_cpu(d->id_len), VWC_VM_ID_MAX,
			       r->vm_id) ||
	    !vwc_padded_string(d->path, sizeof(d->path),
			       le32_to_cpu(d->path_len), VWC_ATTACH_PATH_MAX,
			       r->path) ||
	    !vwc_vm_id_valid(r->vm_id) || !vwc_attach_path_valid(r->path))
		return VWC_REC_CORRUPT;
	st->mode = le32_to_cpu(d->mode);
	st->iops_limit = le64_to_cpu(d->iops_limit);
	st->bw_limit = le64_to_cpu(d->bw_limit);
	st->cache_quota = le64_to_cpu(d->cache_quota);
	st->weight = le32_to_cpu(d->weight);
	if (!vwc_vm_settings_valid(st))
		return VWC_REC_CORRUPT;
	return VWC_REC_OK;
}

bool vwc_attach_equal(const struct vwc_attach_record *a,
		      const struct vwc_attach_record *b)
{
	return !strcmp(a->vm_id, b->vm_id) && !strcmp(a->path, b->path) &&
	       !memcmp(&a->settings, &b->settings, sizeof(a->settings));
}

/*
 * Rewrite @d as @r (NULL: a free slot's zeros) with sequence @seq unless
 * it already says the same, intact: a record is rewritten only when its
 * meaning changes.  Returns true when @d was rewritten.
 */
bool vwc_attach_update(struct vwc_disk_attach *d, u32 index,
		       const struct vwc_attach_record *r, u64 seq, u32 seed)
{
	struct vwc_attach_record now;

	switch (vwc_attach_decode(d, index, U64_MAX, seed, &now)) {
	case VWC_REC_EMPTY:
		if (!r)
			return false;
		break;
	case VWC_REC_OK:
		if (r && vwc_attach_equal(&now, r))
			return false;
		break;
	default:
		break;
	}
	vwc_attach_encode(d, index, r, seq, seed);
	return true;
}

bool vwc_origin_known(const struct vwc_origin_id *o)
{
	return o->kind != VWC_ORIGIN_NONE;
}

bool vwc_origin_equal(const struct vwc_origin_id *a,
		      const struct vwc_origin_id *b)
{
	return a->kind == b->kind && a->sectors == b->sectors &&
	       !memcmp(a->digest, b->digest, sizeof(a->digest));
}

/*
 * Attaching blocks recorded for @recorded to the origin @now: the same
 * origin (whatever path names it) has the same kind and digest and size.
 * An origin not known on either side cannot be told apart: the same.
 */
enum vwc_origin_match vwc_origin_compare(const struct vwc_origin_id *recorded,
					 const struct vwc_origin_id *now)
{
	if (!vwc_origin_known(recorded) || !vwc_origin_known(now))
		return VWC_ORIGIN_SAME;
	if (recorded->kind != now->kind ||
	    memcmp(recorded->digest, now->digest, sizeof(now->digest)))
		return VWC_ORIGIN_OTHER;
	if (recorded->sectors != now->sectors)
		return VWC_ORIGIN_RESIZED;
	return VWC_ORIGIN_SAME;
}

const char *vwc_origin_kind_name(u8 kind)
{
	static const char * const names[] = {
		[VWC_ORIGIN_NONE] = "unknown",
		[VWC_ORIGIN_DM_UUID] = "dm-uuid",
		[VWC_ORIGIN_DISK_ID] = "disk-id",
		[VWC_ORIGIN_PART_UUID] = "part-uuid",
		[VWC_ORIGIN_DM_NAME] = "dm-name",
		[VWC_ORIGIN_PATH] = "path",
	};

	return kind < ARRAY_SIZE(names) ? names[kind] : "invalid";
}

enum vwc_decode_result vwc_vm_decode(const struct vwc_disk_vm *d, u32 index,
				     u64 sb_seq, u32 seed,
				     struct vwc_vm_record *r)
{
	u32 flags = le32_to_cpu(d->flags);
	u32 len = le32_to_cpu(d->id_len);

	memset(r, 0, sizeof(*r));
	if (vwc_is_zero(d, sizeof(*d)))
		return VWC_REC_EMPTY;
	if (le32_to_cpu(d->csum) != vwc_vm_crc(d, index, seed))
		return VWC_REC_CORRUPT;
	if (le64_to_cpu(d->seq) > sb_seq)
		return VWC_REC_UNCOMMITTED;
	if (flags & ~VWC_VM_IN_USE)
		return VWC_REC_CORRUPT;
	if (!vwc_vm_origin_decode(d, &r->origin))
		return VWC_REC_CORRUPT;
	if (!(flags & VWC_VM_IN_USE)) {
		if (len || vwc_origin_known(&r->origin))
			return VWC_REC_CORRUPT;
		return VWC_REC_OK;
	}
	if (!vwc_vm_id_intact(d, len))
		return VWC_REC_CORRUPT;
	memcpy(r->vm_id, d->vm_id, len);
	r->vm_id[len] = '\0';
	if (!vwc_vm_id_valid(r->vm_id))
		return VWC_REC_CORRUPT;
	r->generation = le64_to_cpu(d->generation);
	r->in_use = true;
	return VWC_REC_OK;
}

/*
 * The commit rule (dm-vwcache-commit.c): an entry's bytes change only when
 * its meaning does.  Rewrite @d as @e with sequence @seq unless it already
 * says the same (valid, dirty, VM, block and valid sub-blocks; an empty
 * or free entry says "free"), intact, under whatever committed sequence:
 * then it is left as it is and stays committed whatever becomes of this
 * commit.  Returns true when @d was rewritten.  The caller guarantees that
 * @d holds the entry's committed image (commits are serialised and the
 * load has scrubbed every uncommitted entry).  With SUBBLOCKS, the base
 * of the new entry is the committed one's valid sub-blocks when that was
 * dirty and of the same VM and block (@e->base is ignored).
 */
bool vwc_entry_update(const struct vwc_layout *l, void *d, u64 index,
		      const struct vwc_entry *e, u64 seq, u32 seed)
{
	struct vwc_raw_entry r;
	struct vwc_entry n = *e;
	u64 id_mask = VWC_OBLOCK_MASK | VWC_VM_MASK << VWC_ENTRY_VM_SHIFT;
	bool intact;

	vwc_entry_read(l, d, &r);
	intact = vwc_raw_empty(&r) || vwc_raw_intact(l, &r, index, seed);
	n.base = 0;
	if (!n.valid)
		n.map = 0;
	if (intact && r.map == vwc_entry_map(&n) &&
	    (!vwc_has_sub(l) || (u16)r.sub == n.map))
		return false;
	if (intact && n.valid && n.map && (r.map & VWC_ENTRY_DIRTY) &&
	    (r.map & id_mask) == (vwc_entry_map(&n) & id_mask))
		n.base = (u16)r.sub & n.map;
	vwc_entry_encode(l, d, index, &n, seq, seed);
	return true;
}

/*
 * Load: an intact entry written by a commit whose superblock never became
 * durable (sequence above @sb_seq) is rewritten under @sb_seq as what the
 * durable state said: its base, dirty, when it has one (SUBBLOCKS), else
 * free; so no later superblock can make it committed (the next commit
 * reuses sb_seq + 1).  What it replaced beyond that was, by the commit
 * rule, safe to lose.  Returns true when @d was rewritten; anything else
 * (committed, empty, damaged) is left for the decoder to judge.
 */
bool vwc_entry_scrub(const struct vwc_layout *l, void *d, u64 index,
		     u64 sb_seq, u32 seed)
{
	struct vwc_raw_entry r;
	struct vwc_entry e = { 0 };
	u16 base;

	vwc_entry_read(l, d, &r);
	if (vwc_raw_empty(&r) || (r.check & VWC_SEQ_MASK) <= sb_seq ||
	    !vwc_raw_sound(l, &r, index, seed))
		return false;
	base = (u16)(r.sub >> 16);
	if (base) {
		e.valid = true;
		e.dirty = true;
		vwc_raw_key(&r, &e);
		e.map = base;
	}
	vwc_entry_encode(l, d, index, &e, sb_seq, seed);
	return true;
}

/* No commit may follow @seq: entries hold VWC_ENTRY_SEQ_BITS of it. */
bool vwc_seq_exhausted(u64 seq)
{
	return seq >= VWC_SEQ_MASK;
}
