// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwcache origin identity: what a VM record remembers of the origin its
 * dirty blocks belong to (Documentation/admin-guide/dm-vwcache.rst,
 * "Origin identity").  The identity string is, in this order of
 * preference:
 *
 *   dm-uuid    the dm UUID of a dm device (an LV, a multipath map)
 *   dm-name    the name of a dm device that has no UUID
 *   disk-id    "naa.<hex>", "eui.<hex>" or "t10.<hex>": the unique id a
 *              whole disk reports (SCSI WWN, NVMe EUI-64 or NGUID)
 *   part-uuid  the partition's UUID (GPT, or the MBR disk id and number)
 *   path       "/dev/<the kernel's name of the device>" (vdb, sdc1): the
 *              table line may name the device by any path or by
 *              major:minor, and "dmsetup table" re-emits major:minor, so
 *              the text of the line would change with every reload
 *
 * The record keeps the origin's size and the first VWC_ORIGIN_DIGEST_SIZE
 * bytes of the SHA-256 of the string; the string itself is logged.  All
 * of it is read at ctr (no I/O: what the kernel already knows).
 *
 * The path last used, kept in the attachment record, is the table line's
 * path when it gave one (a by-id link, say), else "/dev/<kernel name>".
 */
#include <linux/blkdev.h>
#include <crypto/sha2.h>

#include "dm-vwcache.h"
#include "dm-vwcache-origin.h"

/* A dm device: its UUID, else its name.  False for any other device. */
static bool vwc_origin_dm(struct block_device *bdev, struct vwc_origin *o)
{
	char name[DM_NAME_LEN], uuid[DM_UUID_LEN];
	struct mapped_device *md = dm_get_md(bdev->bd_dev);
	int r;

	if (!md)
		return false;
	r = dm_copy_name_and_uuid(md, name, uuid);
	dm_put(md);
	if (r)
		return false;
	if (uuid[0]) {
		o->id.kind = VWC_ORIGIN_DM_UUID;
		strscpy(o->name, uuid, sizeof(o->name));
	} else {
		o->id.kind = VWC_ORIGIN_DM_NAME;
		strscpy(o->name, name, sizeof(o->name));
	}
	return true;
}

/* A whole disk's unique id, the most specific kind it reports. */
static bool vwc_origin_disk_id(struct block_device *bdev,
			       struct vwc_origin *o)
{
	static const struct {
		enum blk_unique_id type;
		const char *prefix;
	} types[] = {
		{ BLK_UID_NAA, "naa." },
		{ BLK_UID_EUI64, "eui." },
		{ BLK_UID_T10, "t10." },
	};
	struct gendisk *disk = bdev->bd_disk;
	u8 uid[16];
	unsigned int i;
	int len;

	if (bdev_is_partition(bdev) || !disk->fops->get_unique_id)
		return false;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		len = disk->fops->get_unique_id(disk, uid, types[i].type);
		if (len <= 0 || len > sizeof(uid))
			continue;
		o->id.kind = VWC_ORIGIN_DISK_ID;
		snprintf(o->name, sizeof(o->name), "%s%*phN", types[i].prefix,
			 len, uid);
		return true;
	}
	return false;
}

static bool vwc_origin_part_uuid(struct block_device *bdev,
				 struct vwc_origin *o)
{
	if (!bdev_is_partition(bdev) || !bdev->bd_meta_info ||
	    !bdev->bd_meta_info->uuid[0])
		return false;
	o->id.kind = VWC_ORIGIN_PART_UUID;
	strscpy(o->name, bdev->bd_meta_info->uuid, sizeof(o->name));
	return true;
}

/*
 * Identify the origin @bdev, named @path in the table line: fills @o.
 * Every origin has an identity (the path at worst).
 */
void vwc_origin_identify(struct block_device *bdev, const char *path,
			 struct vwc_origin *o)
{
	u8 digest[SHA256_DIGEST_SIZE];

	memset(o, 0, sizeof(*o));
	o->path_given = strlen(path) <= VWC_ATTACH_PATH_MAX &&
			vwc_attach_path_valid(path);
	if (o->path_given)
		strscpy(o->path, path, sizeof(o->path));
	else
		snprintf(o->path, sizeof(o->path), "/dev/%pg", bdev);
	if (!vwc_origin_dm(bdev, o) && !vwc_origin_disk_id(bdev, o) &&
	    !vwc_origin_part_uuid(bdev, o)) {
		o->id.kind = VWC_ORIGIN_PATH;
		snprintf(o->name, sizeof(o->name), "/dev/%pg", bdev);
	}
	sha256(o->name, strlen(o->name), digest);
	memcpy(o->id.digest, digest, sizeof(o->id.digest));
	o->id.sectors = bdev_nr_sectors(bdev);
}

/*
 * May the dirty blocks recorded for @recorded go to the origin @o?  0 if
 * so; else the error for ti->error, the details logged.
 */
int vwc_origin_check(const char *vm_id, const struct vwc_origin_id *recorded,
		     const struct vwc_origin *o, const char **error)
{
	switch (vwc_origin_compare(recorded, &o->id)) {
	case VWC_ORIGIN_SAME:
		return 0;
	case VWC_ORIGIN_RESIZED:
		*error = "Refused: the vm_id has dirty blocks of an origin of another size (attach it to its own origin, or discard them with the pool message drop_dirty)";
		break;
	default:
		*error = "Refused: the vm_id has dirty blocks of another origin (attach it to its own origin, or discard them with the pool message drop_dirty)";
		break;
	}
	DMERR("vm_id %s: dirty blocks belong to the origin %s %*phN (%llu sectors), not to %s (%s %s, %llu sectors): attach refused",
	      vm_id, vwc_origin_kind_name(recorded->kind),
	      VWC_ORIGIN_DIGEST_SIZE, recorded->digest,
	      (unsigned long long)recorded->sectors, o->path,
	      vwc_origin_kind_name(o->id.kind), o->name,
	      (unsigned long long)o->id.sectors);
	return -EINVAL;
}
