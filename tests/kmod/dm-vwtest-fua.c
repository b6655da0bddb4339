// SPDX-License-Identifier: GPL-2.0-only
/*
 * dm-vwtest-fua: a test-only device-mapper target for the VM tests, never
 * installed.  "vwtest-fua <dev> <offset>" maps like linear, but every
 * write with data reaches <dev> as a FUA write, and empty flushes end
 * here (the device advertises no write cache): userspace cannot otherwise
 * send a FUA write that no flush follows (O_DSYNC on a block device always
 * flushes after the write), as filesystems and iomap's O_DSYNC direct
 * writes do.
 */
#include <linux/module.h>
#include <linux/device-mapper.h>
#include <linux/bio.h>

struct vwtest_fua {
	struct dm_dev *dev;
	sector_t start;
};

static int vwtest_fua_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct vwtest_fua *f;
	unsigned long long start;
	char dummy;
	int r;

	if (argc != 2) {
		ti->error = "Usage: <dev> <offset>";
		return -EINVAL;
	}
	if (sscanf(argv[1], "%llu%c", &start, &dummy) != 1) {
		ti->error = "Invalid offset";
		return -EINVAL;
	}
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &f->dev);
	if (r) {
		ti->error = "Device lookup failed";
		kfree(f);
		return r;
	}
	f->start = start;
	ti->num_flush_bios = 0;
	ti->num_discard_bios = 0;
	ti->private = f;
	return 0;
}

static void vwtest_fua_dtr(struct dm_target *ti)
{
	struct vwtest_fua *f = ti->private;

	dm_put_device(ti, f->dev);
	kfree(f);
}

static int vwtest_fua_map(struct dm_target *ti, struct bio *bio)
{
	struct vwtest_fua *f = ti->private;

	bio_set_dev(bio, f->dev->bdev);
	bio->bi_iter.bi_sector = f->start +
		dm_target_offset(ti, bio->bi_iter.bi_sector);
	if (bio_op(bio) == REQ_OP_WRITE && bio_sectors(bio))
		bio->bi_opf |= REQ_FUA;
	return DM_MAPIO_REMAPPED;
}

static int vwtest_fua_iterate(struct dm_target *ti,
			      iterate_devices_callout_fn fn, void *data)
{
	struct vwtest_fua *f = ti->private;

	return fn(ti, f->dev, f->start, ti->len, data);
}

static struct target_type vwtest_fua_target = {
	.name = "vwtest-fua",
	.version = {1, 0, 0},
	.module = THIS_MODULE,
	.ctr = vwtest_fua_ctr,
	.dtr = vwtest_fua_dtr,
	.map = vwtest_fua_map,
	.iterate_devices = vwtest_fua_iterate,
};

static int __init vwtest_fua_init(void)
{
	return dm_register_target(&vwtest_fua_target);
}

static void __exit vwtest_fua_exit(void)
{
	dm_unregister_target(&vwtest_fua_target);
}

module_init(vwtest_fua_init);
module_exit(vwtest_fua_exit);
MODULE_DESCRIPTION("dm-vwcache tests: writes as FUA, no flushes");
MODULE_LICENSE("GPL");
