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
 * bytes of the SHA-256 of the string of the first kind the origin has;
 * the string itself is logged.  An attach compares the record with the
 * origin's identity of the record's kind, whatever kind it prefers now
 * (vwc_origin_check()).  All of it is read at ctr (no I/O: what the
 * kernel already knows).
 *
 * The path last used, kept in the attachment record, is the table line's
 * path when it gave one (a by-id link, say), else "/dev/<kernel name>".
 */
#include <linux/blkdev.h>
#include <crypto/sha2.h>

#include "dm-vwcache.h"
#include "dm-vwcache-origin.h"

/* A dm device: its name, and its UUID if it has one. */
static void vwc_origin_dm(struct block_device *bdev,
			  struct vwc_origin_strings *str)
{
	char name[DM_NAME_LEN];
	struct mapped_device *md = dm_get_md(bdev->bd_dev);
	int r;

	if (!md)
		return;
	r = dm_copy_name_and_uuid(md, name, str->s[VWC_ORIGIN_DM_UUID]);
	dm_put(md);
	if (r) {
		str->s[VWC_ORIGIN_DM_UUID][0] = '\0';
		return;
	}
	strscpy(str->s[VWC_ORIGIN_DM_NAME], name, DM_UUID_LEN);
}

/* A whole disk's unique id, the most specific kind it reports. */
static void vwc_origin_disk_id(struct block_device *bdev,
			       struct vwc_origin_strings *str)
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
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		len = disk->fops->get_unique_id(disk, uid, types[i].type);
		if (len <= 0 || len > sizeof(uid))
			continue;
		snprintf(str->s[VWC_ORIGIN_DISK_ID], DM_UUID_LEN, "%s%*phN",
			 types[i].prefix, len, uid);
		return;
	}
}

static void vwc_origin_part_uuid(struct block_device *bdev,
				 struct vwc_origin_strings *str)
{
	if (bdev_is_partition(bdev) && bdev->bd_meta_info)
		strscpy(str->s[VWC_ORIGIN_PART_UUID], bdev->bd_meta_info->uuid,
			DM_UUID_LEN);
}

/* The kinds in the order of preference: the first one a device has. */
static const u8 vwc_origin_preference[] = {
	VWC_ORIGIN_DM_UUID, VWC_ORIGIN_DM_NAME, VWC_ORIGIN_DISK_ID,
	VWC_ORIGIN_PART_UUID, VWC_ORIGIN_PATH,
};

/*
 * Identify the origin @bdev, named @path in the table line: fills @o with
 * the identity of every kind it has, the preferred one in o->id (what a
 * record keeps; its string: vwc_origin_name()).  Every origin has an
 * identity (the path at worst).
 */
void vwc_origin_identify(struct block_device *bdev, const char *path,
			 struct vwc_origin *o)
{
	struct vwc_origin_strings *str = &o->strings;
	u8 digest[SHA256_DIGEST_SIZE];
	unsigned int i;

	memset(o, 0, sizeof(*o));
	vwc_origin_dm(bdev, str);
	vwc_origin_disk_id(bdev, str);
	vwc_origin_part_uuid(bdev, str);
	snprintf(str->s[VWC_ORIGIN_PATH], DM_UUID_LEN, "/dev/%pg", bdev);
	o->path_given = strlen(path) <= VWC_ATTACH_PATH_MAX &&
			vwc_attach_path_valid(path);
	strscpy(o->path, o->path_given ? path : str->s[VWC_ORIGIN_PATH],
		sizeof(o->path));
	o->id.sectors = bdev_nr_sectors(bdev);
	for (i = 0; i < ARRAY_SIZE(vwc_origin_preference); i++) {
		u8 kind = vwc_origin_preference[i];

		if (!str->s[kind][0])
			continue;
		sha256(str->s[kind], strlen(str->s[kind]), digest);
		memcpy(o->digests[kind], digest, VWC_ORIGIN_DIGEST_SIZE);
		o->kinds |= BIT(kind);
		if (!o->id.kind) {
			o->id.kind = kind;
			memcpy(o->id.digest, digest, sizeof(o->id.digest));
		}
	}
}

/*
 * @o as a record of @kind would name it: its identity of that kind if it
 * has one, else its preferred one.  So a device whose preferred kind
 * changed (a dm device given a UUID, an NVMe namespace whose unique id a
 * newer kernel reports) is still the origin its older record names.
 */
static void vwc_origin_as(const struct vwc_origin *o, u8 kind,
			  struct vwc_origin_id *out)
{
	*out = o->id;
	if (kind <= VWC_ORIGIN_KIND_MAX && (o->kinds & BIT(kind))) {
		out->kind = kind;
		memcpy(out->digest, o->digests[kind], sizeof(out->digest));
	}
}

/*
 * May the dirty blocks recorded for @recorded go to the origin @o?  0 if
 * so; else the error for ti->error, the details logged.
 */
int vwc_origin_check(const char *vm_id, const struct vwc_origin_id *recorded,
		     const struct vwc_origin *o, const char **error)
{
	struct vwc_origin_id now;

	vwc_origin_as(o, recorded->kind, &now);
	switch (vwc_origin_compare(recorded, &now)) {
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
	      vwc_origin_kind_name(o->id.kind), vwc_origin_name(o),
	      (unsigned long long)o->id.sectors);
	return -EINVAL;
}
