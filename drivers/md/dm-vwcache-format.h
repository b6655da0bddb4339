/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dm-vwcache on-disk format: layout, encode and decode of the superblock,
 * the VM table records and the cache block entries.  The format itself is
 * described in include/uapi/linux/dm-vwcache.h.
 *
 * Rules: decode trusts nothing it reads.  Every field is range checked
 * against the layout before a caller sees it; a decode that fails says why
 * in a static message.  Encode and decode are pure functions of their
 * arguments (no I/O), shared by the module and by dmcache-ctl check.
 */
#ifndef DM_VWCACHE_FORMAT_H
#define DM_VWCACHE_FORMAT_H

#include "dm-vwcache-core.h"
#include "dm-vwcache-args.h"

/* The incompat features of a pool formatted now. */
#define VWC_FORMAT_INCOMPAT	(VWC_FEATURE_INCOMPAT_ATTACH | \
				 VWC_FEATURE_INCOMPAT_LAZY_ENTRIES | \
				 VWC_FEATURE_INCOMPAT_SUBBLOCKS)

struct vwc_layout {
	u32 block_size;		/* bytes */
	u32 max_vms;
	u64 dev_sectors;
	u64 vm_table_start;	/* sectors */
	u64 entries_start;	/* sectors */
	u64 nr_blocks;
	u64 data_start;		/* sectors */
	u64 attach_start;	/* sectors; 0: no attachment table */
	/* Derived from the features, not stored: */
	u32 entry_size;		/* bytes: 16, or 32 with SUBBLOCKS */
	u32 subblocks;		/* per block: 1, or block_size / 4 KiB */
};

struct vwc_sb {
	struct vwc_layout layout;
	u64 seq;
	u64 compat;
	u64 compat_ro;
	u64 incompat;
	u64 entries_init;	/* LAZY_ENTRIES: entry pages initialised */
	u8 uuid[16];
	u32 copy;
};

/*
 * A decoded cache block entry.  map: its valid sub-blocks (bit 0 alone
 * when the pool has one sub-block per block); base: see
 * VWC_FEATURE_INCOMPAT_SUBBLOCKS, set by vwc_entry_update() only.
 */
struct vwc_entry {
	u64 oblock;
	u32 vm;
	bool valid;
	bool dirty;
	u16 map;
	u16 base;
};

enum vwc_decode_result {
	VWC_REC_EMPTY,		/* never written (all zero) */
	VWC_REC_OK,		/* committed and intact */
	VWC_REC_UNCOMMITTED,	/* written after the last commit: ignore */
	VWC_REC_CORRUPT,	/* checksum or range failure */
};

/* Which origin a VM record's blocks belong to (VWC_ORIGIN_NONE: unknown). */
struct vwc_origin_id {
	u64 sectors;
	u8 kind;
	u8 digest[VWC_ORIGIN_DIGEST_SIZE];
};

struct vwc_vm_record {
	char vm_id[VWC_VM_ID_MAX + 1];
	u64 generation;
	bool in_use;
	struct vwc_origin_id origin;
};

/* How a vm_id was last attached (VWC_FEATURE_INCOMPAT_ATTACH). */
struct vwc_attach_record {
	char vm_id[VWC_VM_ID_MAX + 1];
	char path[VWC_ATTACH_PATH_MAX + 1];
	struct vwc_vm_settings settings;
};

/* What attaching a vm_id's dirty blocks to an origin would mean. */
enum vwc_origin_match {
	VWC_ORIGIN_SAME,	/* the same origin, or nothing known to differ */
	VWC_ORIGIN_OTHER,	/* another identity */
	VWC_ORIGIN_RESIZED,	/* the same identity, another size */
};

#define VWC_VMS_PER_PAGE	(4096 / sizeof(struct vwc_disk_vm))
#define VWC_ATTACH_PER_PAGE	(4096 / sizeof(struct vwc_disk_attach))

/* Entries per 4 KiB entry page. */
static inline u32 vwc_entries_per_page(const struct vwc_layout *l)
{
	return 4096 / l->entry_size;
}

/* Entry @i of the entry page @page. */
static inline void *vwc_entry_ptr(const struct vwc_layout *l, void *page,
				  u32 i)
{
	return (u8 *)page + (size_t)i * l->entry_size;
}

/* Entries of 32 bytes, with sub-block maps (SUBBLOCKS)? */
static inline bool vwc_has_sub(const struct vwc_layout *l)
{
	return l->entry_size > sizeof(struct vwc_disk_entry);
}

/* Every sub-block of a block. */
static inline u16 vwc_sub_full(const struct vwc_layout *l)
{
	return (u16)((1U << l->subblocks) - 1);
}

int vwc_layout_compute(u64 dev_sectors, u32 block_size, u64 incompat,
		       struct vwc_layout *l);
u64 vwc_entries_sectors(const struct vwc_layout *l);
u64 vwc_entry_pages(const struct vwc_layout *l);
u64 vwc_sb_entry_pages_read(const struct vwc_sb *sb);

bool vwc_is_zero(const void *buf, size_t len);
u32 vwc_uuid_seed(const u8 uuid[16]);

void vwc_sb_init(struct vwc_sb *sb, const struct vwc_layout *l,
		 const u8 uuid[16]);
void vwc_sb_set_lazy(struct vwc_sb *sb);
void vwc_sb_encode(const struct vwc_sb *sb, void *buf);
int vwc_sb_decode(const void *buf, u32 copy, struct vwc_sb *sb,
		  const char **error);
int vwc_sb_choose(const void *copy0, const void *copy1, struct vwc_sb *sb,
		  const char **error);

void vwc_entry_encode(const struct vwc_layout *l, void *d, u64 index,
		      const struct vwc_entry *e, u64 seq, u32 seed);
enum vwc_decode_result vwc_entry_decode(const struct vwc_layout *l,
					const void *d, u64 index, u64 sb_seq,
					u32 seed, struct vwc_entry *e);
bool vwc_entry_update(const struct vwc_layout *l, void *d, u64 index,
		      const struct vwc_entry *e, u64 seq, u32 seed);
bool vwc_entry_scrub(const struct vwc_layout *l, void *d, u64 index,
		     u64 sb_seq, u32 seed);
bool vwc_seq_exhausted(u64 seq);

void vwc_vm_encode(struct vwc_disk_vm *d, u32 index,
		   const struct vwc_vm_record *r, u64 seq, u32 seed);
enum vwc_decode_result vwc_vm_decode(const struct vwc_disk_vm *d, u32 index,
				     u64 sb_seq, u32 seed,
				     struct vwc_vm_record *r);

void vwc_attach_encode(struct vwc_disk_attach *d, u32 index,
		       const struct vwc_attach_record *r, u64 seq, u32 seed);
enum vwc_decode_result vwc_attach_decode(const struct vwc_disk_attach *d,
					 u32 index, u64 sb_seq, u32 seed,
					 struct vwc_attach_record *r);
bool vwc_attach_path_valid(const char *path);
bool vwc_attach_equal(const struct vwc_attach_record *a,
		      const struct vwc_attach_record *b);
bool vwc_attach_update(struct vwc_disk_attach *d, u32 index,
		       const struct vwc_attach_record *r, u64 seq, u32 seed);

bool vwc_origin_known(const struct vwc_origin_id *o);
bool vwc_origin_equal(const struct vwc_origin_id *a,
		      const struct vwc_origin_id *b);
enum vwc_origin_match vwc_origin_compare(const struct vwc_origin_id *recorded,
					 const struct vwc_origin_id *now);
const char *vwc_origin_kind_name(u8 kind);

#endif /* DM_VWCACHE_FORMAT_H */
