// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: orphans, the vm_ids of a pool that hold dirty blocks but
 * have no VM device (Documentation/admin-guide/dm-vwcache.rst, "Origin
 * identity").  Their dirty blocks and origin identity come from the last
 * commit on the live cache device, as pool-remove reads them.  The VM
 * record keeps a digest of the origin's identity string, not the string:
 * the devices of this host are tried (dm UUIDs and names, disk ids,
 * partition UUIDs, device paths) and those whose digest matches are
 * named (two distinct devices: the identity is found twice).  The same
 * search serves assemble --from-pool (cmd_assemble.c) and check-origin
 * (below), which fences an origin whose newest data is in a pool.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ctl.h"

/* Does @str, an identity of @kind, match the record's origin? */
static bool origin_is(const struct vwc_origin_id *o, u8 kind, const char *str)
{
	uint8_t d[32];

	if (o->kind != kind)
		return false;
	ctl_sha256(str, strlen(str), d);
	return !memcmp(d, o->digest, sizeof(o->digest));
}

/* Size in sectors of block device @rdev, from sysfs; 0 when unreadable. */
static uint64_t dev_sectors(dev_t rdev)
{
	char file[96], buf[32];
	uint64_t n;

	snprintf(file, sizeof(file), "/sys/dev/block/%u:%u/size", major(rdev),
		 minor(rdev));
	if (ctl_sysfs_read(file, buf, sizeof(buf)) || ctl_parse_u64(buf, &n))
		return 0;
	return n;
}

/*
 * Device @device, known as @identity, matches the record: the first match
 * names the origin (identity, device); every other device (another
 * major:minor: two paths of one device are one match) is counted, so that
 * an identity found twice is seen.  Returns false: the search goes on.
 */
static bool found(struct ctl_orphan *o, const char *identity,
		  const char *device)
{
	struct ctl_origin_match *m;
	struct stat st;
	dev_t rdev = 0;
	int i;

	if (!stat(device, &st) && S_ISBLK(st.st_mode))
		rdev = st.st_rdev;
	for (i = 0; i < o->nr_match && i < CTL_ORIGIN_MATCHES; i++)
		if (rdev ? o->match[i].rdev == rdev :
		    !strcmp(o->match[i].device, device))
			return false;
	if (o->nr_match++ >= CTL_ORIGIN_MATCHES)
		return false;
	m = &o->match[o->nr_match - 1];
	m->rdev = rdev;
	m->sectors = rdev ? dev_sectors(rdev) : 0;
	snprintf(m->identity, sizeof(m->identity), "%s", identity);
	snprintf(m->device, sizeof(m->device), "%s", device);
	if (o->nr_match == 1) {
		snprintf(o->identity, sizeof(o->identity), "%s", identity);
		snprintf(o->device, sizeof(o->device), "%s", device);
	}
	return false;
}

/* dm devices: by UUID, by name, or by /dev/mapper/NAME as a path. */
static void find_dm(struct ctl_orphan *o)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char (*names)[CTL_NAME_MAX] = NULL, path[CTL_NAME_MAX + 16];
	struct dm_dev_info d;
	int i, n;

	if (dm_list(&names, &n))
		return;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/dev/mapper/%s", names[i]);
		if (origin_is(id, VWC_ORIGIN_DM_NAME, names[i]) ||
		    origin_is(id, VWC_ORIGIN_PATH, path))
			found(o, id->kind == VWC_ORIGIN_PATH ? path : names[i],
			      path);
		else if (!dm_get(names[i], false, &d) && d.uuid[0] &&
			 origin_is(id, VWC_ORIGIN_DM_UUID, d.uuid))
			found(o, d.uuid, path);
	}
	free(names);
}

/* The disk-id of NVMe namespace @name (ctl_nvme_disk_id()); 0 if it has one. */
static int nvme_disk_id(const char *name, char *out, size_t len)
{
	char file[320], nguid[64], eui[64];
	bool has_nguid, has_eui;

	snprintf(file, sizeof(file), "/sys/class/block/%s/nguid", name);
	has_nguid = !ctl_sysfs_read(file, nguid, sizeof(nguid));
	snprintf(file, sizeof(file), "/sys/class/block/%s/eui", name);
	has_eui = !ctl_sysfs_read(file, eui, sizeof(eui));
	return ctl_nvme_disk_id(has_nguid ? nguid : NULL, has_eui ? eui : NULL,
				out, len);
}

/* Every block device of /sys/class/block: disk ids, /dev/NAME, MAJ:MIN. */
static void find_block(struct ctl_orphan *o)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char file[320], buf[160], path[288];
	struct dirent *e;
	DIR *dir = opendir("/sys/class/block");

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (origin_is(id, VWC_ORIGIN_PATH, path)) {
			found(o, path, path);
			continue;
		}
		snprintf(file, sizeof(file), "/sys/class/block/%s/dev", e->d_name);
		if (!ctl_sysfs_read(file, buf, sizeof(buf)) &&
		    origin_is(id, VWC_ORIGIN_PATH, buf)) {
			found(o, buf, path);
			continue;
		}
		snprintf(file, sizeof(file), "/sys/class/block/%s/device/wwid",
			 e->d_name);
		if (!ctl_sysfs_read(file, buf, sizeof(buf))) {
			char *c;

			for (c = buf; *c; c++)
				*c = *c >= 'A' && *c <= 'Z' ? *c + 32 : *c;
			if (origin_is(id, VWC_ORIGIN_DISK_ID, buf)) {
				found(o, buf, path);
				continue;
			}
		}
		if (!nvme_disk_id(e->d_name, buf, sizeof(buf)) &&
		    origin_is(id, VWC_ORIGIN_DISK_ID, buf))
			found(o, buf, path);
	}
	closedir(dir);
}

/* The links of /dev/disk/by-*: partition UUIDs, and paths. */
static void find_links(struct ctl_orphan *o, const char *dirname, u8 kind)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char path[300];
	struct dirent *e;
	DIR *dir = opendir(dirname);

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirname, e->d_name);
		if (origin_is(id, kind, kind == VWC_ORIGIN_PATH ? path :
			      e->d_name))
			found(o, kind == VWC_ORIGIN_PATH ? path : e->d_name,
			      path);
	}
	closedir(dir);
}

/*
 * Every device of this host whose identity matches the record of @o:
 * o->match[] (o->nr_match of them, distinct devices), the first one also
 * in o->identity and o->device.  Sizes are read, not compared.
 */
void ctl_origin_resolve(struct ctl_orphan *o)
{
	static const char * const by[] = { "/dev/disk/by-id",
		"/dev/disk/by-path", "/dev/disk/by-uuid",
		"/dev/disk/by-partuuid", "/dev/disk/by-label" };
	size_t i;

	o->nr_match = 0;
	o->identity[0] = o->device[0] = '\0';
	if (!vwc_origin_known(&o->slot.origin))
		return;
	find_dm(o);
	find_block(o);
	find_links(o, "/dev/disk/by-partuuid", VWC_ORIGIN_PART_UUID);
	for (i = 0; i < sizeof(by) / sizeof(by[0]); i++)
		find_links(o, by[i], VWC_ORIGIN_PATH);
}

/* Orphans of pool @p of @s; *out malloc'ed.  0, or -errno (unreadable). */
int ctl_pool_orphans(const struct snapshot *s, int p, struct ctl_orphan **out,
		     int *nr)
{
	struct ctl_slot_dirty *d;
	char path[272];
	int i, j, n, r;

	*out = NULL;
	*nr = 0;
	ctl_dev_path(s->pools[p].tbl.cache_dev, path, sizeof(path));
	r = ctl_vm_slots(path, true, &d, &n);
	if (r)
		return r;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out) {
		free(d);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		bool attached = false;

		for (j = 0; j < s->nr_vms; j++)
			if (s->vms[j].pool == p &&
			    !strcmp(s->vms[j].tbl.vm_id, d[i].vm_id))
				attached = true;
		if (attached)
			continue;
		(*out)[*nr].slot = d[i];
		ctl_origin_resolve(&(*out)[(*nr)++]);
	}
	free(d);
	return 0;
}

void ctl_orphans_text(const struct ctl_orphan *o, int nr)
{
	char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];
	int i;

	printf("  orphans       %d\n", nr);
	for (i = 0; i < nr; i++) {
		const struct ctl_slot_dirty *d = &o[i].slot;

		printf("    %s: %llu dirty bytes, origin %s", d->vm_id,
		       (unsigned long long)(d->dirty_blocks * d->block_size),
		       vwc_origin_kind_name(d->origin.kind));
		if (vwc_origin_known(&d->origin)) {
			ctl_origin_hex(&d->origin, hex);
			printf(" %s, %llu sectors, digest %s",
			       o[i].identity[0] ? o[i].identity : "(not found on this host)",
			       (unsigned long long)d->origin.sectors, hex);
			if (o[i].device[0])
				printf(", now %s", o[i].device);
			if (o[i].nr_match > 1)
				printf(" (and %d other devices of that identity)",
				       o[i].nr_match - 1);
		}
		if (d->have_attach)
			printf(", last attached by %s", d->attach.path);
		putchar('\n');
	}
}

void ctl_orphans_json(struct json *j, const struct ctl_orphan *o, int nr)
{
	char hex[2 * VWC_ORIGIN_DIGEST_SIZE + 1];
	int i;

	json_open(j, "orphans", '[');
	for (i = 0; i < nr; i++) {
		const struct ctl_slot_dirty *d = &o[i].slot;

		json_open(j, NULL, '{');
		json_str(j, "vm_id", d->vm_id);
		json_u64(j, "dirty_bytes", d->dirty_blocks * d->block_size);
		json_str(j, "origin_kind", vwc_origin_kind_name(d->origin.kind));
		ctl_origin_hex(&d->origin, hex);
		if (vwc_origin_known(&d->origin)) {
			json_u64(j, "origin_sectors", d->origin.sectors);
			json_str(j, "origin_digest", hex);
		} else {
			json_null(j, "origin_sectors");
			json_null(j, "origin_digest");
		}
		if (o[i].identity[0]) {
			json_str(j, "origin_identity", o[i].identity);
			json_str(j, "origin_device", o[i].device);
		} else {
			json_null(j, "origin_identity");
			json_null(j, "origin_device");
		}
		ctl_attach_json(j, d->have_attach ? &d->attach : NULL);
		json_close(j, '}');
	}
	json_close(j, ']');
}

/* ---- check-origin ------------------------------------------------------------ */

/* Is orphan @o's origin the block device @rdev (any of its matches)? */
static bool orphan_on(const struct ctl_orphan *o, dev_t rdev)
{
	int i;

	for (i = 0; i < o->nr_match && i < CTL_ORIGIN_MATCHES; i++)
		if (o->match[i].rdev == rdev)
			return true;
	return false;
}

/* The one-line explanation of why @dev must not be used bare. */
static void say_orphaned(const char *dev, const char *pool,
			 const struct ctl_orphan *o)
{
	const struct ctl_slot_dirty *d = &o->slot;

	ctl_err("%s holds orphaned dirty data: it is the origin (%s %s) of vm_id %s, whose %llu dirty bytes in pool %s are newer than the origin (used bare, it would serve stale data and be corrupted); attach the vm_id (dmcache-ctl attach %s %s %s) and use its VM device, or discard that data (dmsetup message %s 0 drop_dirty %s)",
		dev, vwc_origin_kind_name(d->origin.kind), o->identity, d->vm_id,
		(unsigned long long)(d->dirty_blocks * d->block_size), pool,
		pool, dev, d->vm_id, pool, d->vm_id);
}

/*
 * check-origin DEV: exit 0 when DEV is the origin of no orphan of the
 * active pools, 1 (each one explained on stderr) when it is, 2 when that
 * cannot be told (usage, DEV not a block device, a cache device
 * unreadable).  The identity decides, not the size: an origin that was
 * resized behind the cache is fenced too.
 */
int cmd_check_origin(struct ctl_args *a)
{
	const char *dev = a->argv[0];
	struct ctl_orphan *o;
	struct snapshot s;
	struct stat st;
	int i, p, nr, hits = 0, r = 0;

	if (stat(dev, &st)) {
		ctl_err("cannot stat %s: %s", dev, strerror(errno));
		return EXIT_USAGE;
	}
	if (!S_ISBLK(st.st_mode)) {
		ctl_err("%s is not a block device", dev);
		return EXIT_USAGE;
	}
	if (snapshot_take(&s))
		return EXIT_USAGE;
	for (p = 0; p < s.nr_pools && !r; p++) {
		if (ctl_pool_orphans(&s, p, &o, &nr)) {
			ctl_err("cannot read the cache device of pool %s: cannot tell whether %s holds orphaned dirty data",
				s.pools[p].dm.name, dev);
			r = EXIT_USAGE;
			break;
		}
		for (i = 0; i < nr; i++)
			if (orphan_on(&o[i], st.st_rdev)) {
				say_orphaned(dev, s.pools[p].dm.name, &o[i]);
				hits++;
			}
		free(o);
	}
	if (!r && hits)
		r = EXIT_FAIL;
	else if (!r)
		printf("%s: no orphaned dirty data in the %d active pools\n",
		       dev, s.nr_pools);
	snapshot_free(&s);
	return r;
}
