// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: orphans, the vm_ids of a pool that hold dirty blocks but
 * have no VM device (Documentation/admin-guide/dm-vwcache.rst, "Origin
 * identity").  Their dirty blocks and origin identity come from the last
 * commit on the live cache device, as pool-remove reads them.  The VM
 * record keeps a digest of the origin's identity string, not the string:
 * the devices of this host are tried (dm UUIDs and names, disk ids,
 * partition UUIDs, device paths) and the one whose digest matches is
 * named.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool found(struct ctl_orphan *o, const char *identity,
		  const char *device)
{
	snprintf(o->identity, sizeof(o->identity), "%s", identity);
	snprintf(o->device, sizeof(o->device), "%s", device);
	return true;
}

/* dm devices: by UUID, by name, or by /dev/mapper/NAME as a path. */
static bool find_dm(struct ctl_orphan *o)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char (*names)[CTL_NAME_MAX] = NULL, path[CTL_NAME_MAX + 16];
	struct dm_dev_info d;
	bool hit = false;
	int i, n;

	if (dm_list(&names, &n))
		return false;
	for (i = 0; i < n && !hit; i++) {
		snprintf(path, sizeof(path), "/dev/mapper/%s", names[i]);
		if (origin_is(id, VWC_ORIGIN_DM_NAME, names[i]) ||
		    origin_is(id, VWC_ORIGIN_PATH, path))
			hit = found(o, id->kind == VWC_ORIGIN_PATH ? path :
				    names[i], path);
		else if (!dm_get(names[i], false, &d) && d.uuid[0] &&
			 origin_is(id, VWC_ORIGIN_DM_UUID, d.uuid))
			hit = found(o, d.uuid, path);
	}
	free(names);
	return hit;
}

/* Every block device of /sys/class/block: disk ids, /dev/NAME, MAJ:MIN. */
static bool find_block(struct ctl_orphan *o)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char file[320], buf[160], path[288];
	struct dirent *e;
	bool hit = false;
	DIR *dir = opendir("/sys/class/block");

	if (!dir)
		return false;
	while (!hit && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/dev/%s", e->d_name);
		if (origin_is(id, VWC_ORIGIN_PATH, path)) {
			hit = found(o, path, path);
			break;
		}
		snprintf(file, sizeof(file), "/sys/class/block/%s/dev", e->d_name);
		if (!ctl_sysfs_read(file, buf, sizeof(buf)) &&
		    origin_is(id, VWC_ORIGIN_PATH, buf)) {
			hit = found(o, buf, path);
			break;
		}
		snprintf(file, sizeof(file), "/sys/class/block/%s/device/wwid",
			 e->d_name);
		if (!ctl_sysfs_read(file, buf, sizeof(buf))) {
			char *c;

			for (c = buf; *c; c++)
				*c = *c >= 'A' && *c <= 'Z' ? *c + 32 : *c;
			if (origin_is(id, VWC_ORIGIN_DISK_ID, buf))
				hit = found(o, buf, path);
		}
	}
	closedir(dir);
	return hit;
}

/* The links of /dev/disk/by-*: partition UUIDs, and paths. */
static bool find_links(struct ctl_orphan *o, const char *dirname, u8 kind)
{
	const struct vwc_origin_id *id = &o->slot.origin;
	char path[300];
	struct dirent *e;
	bool hit = false;
	DIR *dir = opendir(dirname);

	if (!dir)
		return false;
	while (!hit && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirname, e->d_name);
		if (origin_is(id, kind, kind == VWC_ORIGIN_PATH ? path :
			      e->d_name))
			hit = found(o, kind == VWC_ORIGIN_PATH ? path :
				    e->d_name, path);
	}
	closedir(dir);
	return hit;
}

static void resolve(struct ctl_orphan *o)
{
	static const char * const by[] = { "/dev/disk/by-id",
		"/dev/disk/by-path", "/dev/disk/by-uuid",
		"/dev/disk/by-partuuid", "/dev/disk/by-label" };
	size_t i;

	if (!vwc_origin_known(&o->slot.origin) || find_dm(o) || find_block(o) ||
	    find_links(o, "/dev/disk/by-partuuid", VWC_ORIGIN_PART_UUID))
		return;
	for (i = 0; i < sizeof(by) / sizeof(by[0]); i++)
		if (find_links(o, by[i], VWC_ORIGIN_PATH))
			return;
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
	r = ctl_dirty_slots(path, &d, &n);
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
		resolve(&(*out)[(*nr)++]);
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
		}
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
		json_close(j, '}');
	}
	json_close(j, ']');
}
