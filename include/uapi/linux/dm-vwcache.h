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
 *   entries_start  one 16-byte entry per cache block, 4 KiB aligned
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

/* No feature flags are defined yet; unknown incompat flags refuse a load. */
#define VWC_FEATURE_COMPAT_SUPP		0ULL
#define VWC_FEATURE_COMPAT_RO_SUPP	0ULL
#define VWC_FEATURE_INCOMPAT_SUPP	0ULL

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
};

/* VM table record: one per vm_id known to the pool. */
#define VWC_VM_IN_USE		0x1u

struct vwc_disk_vm {
	char vm_id[VWC_VM_ID_MAX];	/* NUL padded */
	__le64 generation;	/* bumped on every attach */
	__le64 seq;		/* commit that wrote this record */
	__le32 flags;
	__le32 id_len;
	__u8 reserved[36];
	__le32 csum;		/* crc32c(uuid seed) of bytes 0..123 + index */
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

#endif /* _UAPI_LINUX_DM_VWCACHE_H */
