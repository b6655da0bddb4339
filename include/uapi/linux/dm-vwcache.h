/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * dm-vwcache: names and on-disk format shared by the kernel module and by
 * userspace (tools/dmcache-ctl reads pools offline with these).
 *
 * On-disk format, version 1.  All integers are little endian.  Sectors are
 * 512 bytes; the cache device is laid out as:
 *
 *   sector 0       superblock copy 0 (4 KiB)
 *   sector 8       superblock copy 1 (4 KiB)
 *   sector 16      VM table: VWC_MAX_VMS records of 128 bytes
 *   attach_start   attachment table: VWC_MAX_VMS records of 512 bytes
 *                  (only with VWC_FEATURE_INCOMPAT_ATTACH)
 *   entries_start  one 16-byte entry per cache block (32 bytes with
 *                  VWC_FEATURE_INCOMPAT_SUBBLOCKS), 4 KiB aligned
 *   data_start     the cache blocks, aligned to the block size
 *
 * The two superblock copies are written alternately, each with a commit
 * sequence number; the valid copy (magic, checksum, version, features) with
 * the higher sequence is the pool's state.  A copy is only ever written
 * over the older of the two, so a torn superblock write leaves the other
 * one intact.
 *
 * Every VM table record and cache block entry carries the commit sequence
 * at which it was written and a checksum keyed with the pool's uuid.  An
 * entry whose sequence is above the superblock's belongs to a commit that
 * never completed and is ignored (the block is free); an intact VM record
 * is used whatever its sequence (a slot changes only in ways that are safe
 * to see early or late).  A record or entry whose checksum fails is damage.
 * Records and entries never straddle a 512-byte sector, whose writes are
 * taken to be atomic.
 *
 * Feature VWC_FEATURE_COMPAT_ORIGIN_ID (compat, added after version 1 was
 * released): the bytes that were reserved in a VM record say which origin
 * the record's dirty blocks belong to: origin_sectors (its size),
 * origin_kind (VWC_ORIGIN_*: what identifies it) and origin_digest (the
 * first 24 bytes of the SHA-256 of the identity string, see
 * Documentation/admin-guide/dm-vwcache.rst "Origin identity").  Kind
 * VWC_ORIGIN_NONE with all three fields zero means "not known" (records
 * written before the feature, or by a module without it).  A pool without
 * the flag has zero there; the module that knows the feature sets the flag
 * when it loads or formats a pool, and a module that does not know it
 * loads the pool unchanged (an unknown compat flag is ignored) and writes
 * records with "not known".  A record whose origin fields are out of range
 * (unknown kind, non-zero padding, a kind without a digest or size, a
 * digest or size without a kind, origin fields in a free record) is damage,
 * with or without the flag (a module without the feature writes zeros).
 *
 * Feature VWC_FEATURE_INCOMPAT_ATTACH (incompat: it moves entries_start;
 * every pool formatted since has it, older pools keep their layout): the
 * attachment table right after the VM table, one 512-byte record (one
 * sector) per VM table record, says how that vm_id was last attached: the
 * origin path the table line gave (or /dev/<kernel name> when it gave
 * major:minor) and the VM's mode and limits.  It informs the operator and
 * dmcache-ctl (orphans, assemble --from-pool); it never decides an attach,
 * which the VM record's origin identity does.  A record is written in the
 * same commit as its VM record and carries the vm_id: a record whose vm_id
 * differs from its VM record's (a commit torn between the two) or whose
 * sequence is above the superblock's is ignored; one whose checksum or
 * fields are out of range is damage.  A free slot's record is all zero.
 *
 * Feature VWC_FEATURE_INCOMPAT_LAZY_ENTRIES (incompat: it changes which
 * entry pages are read; every pool formatted since has it): the entries
 * are not zeroed when the pool is formatted, so that formatting takes the
 * same time on any device size.  The superblock's entries_init says how
 * many entry pages (4 KiB, from entries_start) have been initialised: the
 * pages from there on are never read, and their blocks are free, whatever
 * bytes they hold.  A commit that writes entry page i >= entries_init
 * first writes every page from entries_init to i (zeros but for the
 * entries it encodes) and raises entries_init to i + 1 in its superblock,
 * written after those pages are durable.  A page below entries_init was
 * therefore written whole by a commit whose superblock is durable, and
 * what a torn commit left above it is never trusted: the next commit to
 * reach it writes it whole again.  Without the feature, entries_init is
 * zero and every entry page is read (it was zeroed by the format).
 *
 * Feature VWC_FEATURE_INCOMPAT_SUBBLOCKS (incompat: it doubles the entry
 * size; every pool formatted since has it): entries are 32 bytes
 * (struct vwc_disk_entry_sub) and say which 4 KiB sub-blocks of their
 * block hold data ("valid"), so that a write of whole sub-blocks is cached
 * without the rest of its block.  A dirty entry's valid sub-blocks are all
 * dirty; a clean one's equal the origin's.  While a block is dirty its
 * valid sub-blocks only grow, and a commit may rewrite its entry with
 * more of them: "base" then holds the valid sub-blocks of the entry it
 * replaces (committed, dirty, same VM and block).  An entry whose
 * sequence is above the superblock's stands for its base, dirty, when
 * base is not zero, and is free otherwise: so a torn commit loses only
 * sub-blocks no commit recorded.  A free entry has valid and base zero;
 * base is always within valid.  Without the feature an entry's block is
 * valid whole.
 */
#ifndef _UAPI_LINUX_DM_VWCACHE_H
#define _UAPI_LINUX_DM_VWCACHE_H

#include <linux/types.h>

#define VWC_POOL_TARGET_NAME	"vwcache-pool"
#define VWC_VM_TARGET_NAME	"vwcache"

#define VWC_VM_ID_MAX		64	/* characters of a vm_id */
#define VWC_MAX_VMS		4096	/* VM table records */
#define VWC_BLOCK_SIZE_MIN	4096
#define VWC_BLOCK_SIZE_MAX	65536
#define VWC_MIN_BLOCKS		64	/* smallest pool worth having */

#define VWC_SB_MAGIC		0x31637776u	/* "vwc1" */
#define VWC_FORMAT_VERSION	1
#define VWC_SB_SIZE		4096
#define VWC_SB_SECTORS		8
#define VWC_VM_TABLE_SECTOR	16
#define VWC_META_ALIGN_SECTORS	8

/* Unknown incompat or compat_ro flags refuse a load; compat ones do not. */
#define VWC_FEATURE_COMPAT_ORIGIN_ID	(1ULL << 0)	/* origin in VM records */
#define VWC_FEATURE_COMPAT_SUPP		VWC_FEATURE_COMPAT_ORIGIN_ID
#define VWC_FEATURE_COMPAT_RO_SUPP	0ULL
#define VWC_FEATURE_INCOMPAT_ATTACH	(1ULL << 0)	/* attachment table */
#define VWC_FEATURE_INCOMPAT_LAZY_ENTRIES (1ULL << 1)	/* entries_init */
#define VWC_FEATURE_INCOMPAT_SUBBLOCKS	(1ULL << 2)	/* 32-byte entries */
#define VWC_FEATURE_INCOMPAT_SUPP	(VWC_FEATURE_INCOMPAT_ATTACH | \
					 VWC_FEATURE_INCOMPAT_LAZY_ENTRIES | \
					 VWC_FEATURE_INCOMPAT_SUBBLOCKS)

struct vwc_disk_sb {
	__le32 csum;		/* crc32c of bytes 4..4095 of the copy */
	__le32 magic;
	__le32 version;
	__le32 copy;		/* 0 or 1: which copy this is */
	__le64 seq;		/* commit sequence number */
	__le64 compat;
	__le64 compat_ro;
	__le64 incompat;
	__u8 uuid[16];
	__le32 block_size;	/* bytes */
	__le32 max_vms;
	__le64 dev_sectors;	/* cache device size when formatted */
	__le64 vm_table_start;	/* sector */
	__le64 entries_start;	/* sector */
	__le64 nr_blocks;
	__le64 data_start;	/* sector */
	__le64 attach_start;	/* sector; 0 without VWC_FEATURE_INCOMPAT_ATTACH */
	__le64 entries_init;	/* entry pages initialised (LAZY_ENTRIES), else 0 */
};

/* VM table record: one per vm_id known to the pool. */
#define VWC_VM_IN_USE		0x1u

/* origin_kind of a VM record: what the origin's identity string is. */
#define VWC_ORIGIN_NONE		0	/* not known */
#define VWC_ORIGIN_DM_UUID	1	/* "<dm uuid>" of a dm device (an LV) */
#define VWC_ORIGIN_DISK_ID	2	/* "naa.<hex>", "eui.<hex>", "t10.<hex>" */
#define VWC_ORIGIN_PART_UUID	3	/* "<partition uuid>" */
#define VWC_ORIGIN_DM_NAME	4	/* "<dm name>" of a dm device without uuid */
#define VWC_ORIGIN_PATH		5	/* the path given in the table line */
#define VWC_ORIGIN_KIND_MAX	5
#define VWC_ORIGIN_DIGEST_SIZE	24	/* leading bytes of a SHA-256 */

struct vwc_disk_vm {
	char vm_id[VWC_VM_ID_MAX];	/* NUL padded */
	__le64 generation;	/* bumped on every attach */
	__le64 seq;		/* commit that wrote this record */
	__le32 flags;
	__le32 id_len;
	__le64 origin_sectors;	/* VWC_FEATURE_COMPAT_ORIGIN_ID, else 0 */
	__u8 origin_kind;	/* VWC_ORIGIN_* */
	__u8 origin_pad[3];	/* zero */
	__u8 origin_digest[VWC_ORIGIN_DIGEST_SIZE];
	__le32 csum;		/* crc32c(uuid seed) of bytes 0..123 + index */
};

/* Attachment record (VWC_FEATURE_INCOMPAT_ATTACH): one sector. */
#define VWC_ATTACH_PATH_MAX	255	/* characters of a path */

struct vwc_disk_attach {
	char vm_id[VWC_VM_ID_MAX];	/* the VM record's, NUL padded */
	char path[VWC_ATTACH_PATH_MAX + 1];	/* origin path, NUL padded */
	__le64 seq;		/* commit that wrote this record */
	__le64 iops_limit;
	__le64 bw_limit;
	__le64 cache_quota;
	__le32 weight;
	__le32 mode;		/* 0 writeback, 1 writethrough, 2 passthrough */
	__le32 id_len;
	__le32 path_len;
	__u8 reserved[140];	/* zero */
	__le32 csum;		/* crc32c(uuid seed) of bytes 0..507 + index */
};

/*
 * Cache block entry.  map: bits 0-47 origin block, 48-59 VM table index,
 * 60 valid, 61 dirty.  check: bits 0-39 commit sequence, 40-63 the low 24
 * bits of crc32c(uuid seed) over map, sequence and the entry's index.
 */
#define VWC_ENTRY_OBLOCK_BITS	48
#define VWC_ENTRY_VM_SHIFT	48
#define VWC_ENTRY_VM_BITS	12
#define VWC_ENTRY_VALID		(1ULL << 60)
#define VWC_ENTRY_DIRTY		(1ULL << 61)
#define VWC_ENTRY_SEQ_BITS	40

struct vwc_disk_entry {
	__le64 map;
	__le64 check;
};

/*
 * Cache block entry of a pool with VWC_FEATURE_INCOMPAT_SUBBLOCKS: map and
 * check as above (the checksum also covers valid and base), then
 * valid: the sub-blocks (VWC_SUBBLOCK_SIZE each, bit i for bytes
 * i * 4096 of the block) that hold data; a dirty entry's valid sub-blocks
 * are all dirty.  base: the valid sub-blocks of the same block's entry
 * before this one was written, if that entry was dirty, else 0; used only
 * when this entry's commit never completed (see SUBBLOCKS above).
 */
#define VWC_SUBBLOCK_SIZE	4096
#define VWC_SUBBLOCKS_MAX	(VWC_BLOCK_SIZE_MAX / VWC_SUBBLOCK_SIZE)

struct vwc_disk_entry_sub {
	__le64 map;
	__le64 check;
	__le16 valid;
	__le16 base;
	__u8 reserved[12];	/* zero */
};

#endif /* _UAPI_LINUX_DM_VWCACHE_H */
