// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: a snapshot of every pool and VM device: status and table
 * lines through libdevmapper, and the sysfs files of interface.md where
 * the module has them (absent ones are marked, never guessed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static void sval_read(const char *dir, const char *file, struct sval *v)
{
	v->ok = !ctl_sysfs_u64(dir, file, &v->v);
	if (!v->ok)
		v->v = 0;
}

static void hist_read(const char *dir, const char *file, struct ctl_hist *h)
{
	char path[512], buf[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (ctl_sysfs_read(path, buf, sizeof(buf)) || ctl_parse_hist(buf, h))
		memset(h, 0, sizeof(*h));
}

/* The sysfs files of VM device @v (v->sysdir); absent ones marked. */
void vm_read_sysfs(struct vm_dev *v)
{
	const char *d = v->sysdir;

	v->have_sysfs = access(d, F_OK) == 0;
	if (!v->have_sysfs)
		return;
	sval_read(d, "dirty_bytes", &v->dirty_bytes);
	sval_read(d, "flush_eta_ms", &v->flush_eta_ms);
	sval_read(d, "stats/read_bytes", &v->read_bytes);
	sval_read(d, "stats/write_bytes", &v->write_bytes);
	sval_read(d, "stats/read_iops", &v->read_iops);
	sval_read(d, "stats/write_iops", &v->write_iops);
	sval_read(d, "stats/read_bw", &v->read_bw);
	sval_read(d, "stats/write_bw", &v->write_bw);
	sval_read(d, "limits/iops_limit", &v->iops_limit);
	sval_read(d, "limits/bw_limit", &v->bw_limit);
	sval_read(d, "limits/cache_quota", &v->cache_quota);
	sval_read(d, "limits/weight", &v->weight);
	hist_read(d, "stats/read_latency_us", &v->read_lat);
	hist_read(d, "stats/write_latency_us", &v->write_lat);
	sval_read(d, "stats/writeback_errors", &v->writeback_errors);
	sval_read(d, "stats/sequential_bypassed_bytes", &v->sequential_bypassed);
	sval_read(d, "stats/read_latency_sum_ns", &v->read_lat_sum_ns);
	sval_read(d, "stats/write_latency_sum_ns", &v->write_lat_sum_ns);
}

static const char *dm_name_of(const char *arg);

static void *grow(void *p, int n, size_t size)
{
	/* arrays grow by one; snapshots hold tens of devices */
	return realloc(p, (n + 1) * size);
}

static int add_pool(struct snapshot *s, const struct dm_dev_info *st)
{
	struct pool_dev *p;
	struct dm_dev_info tbl;
	void *np = grow(s->pools, s->nr_pools, sizeof(*s->pools));

	if (!np)
		return -ENOMEM;
	s->pools = np;
	p = &s->pools[s->nr_pools];
	memset(p, 0, sizeof(*p));
	p->dm = *st;
	if (ctl_parse_pool_status(st->params, &p->st))
		return 0;	/* not a status we understand: skip */
	if (!dm_get(st->name, true, &tbl))
		ctl_parse_pool_table(tbl.params, &p->tbl);
	snprintf(p->sysdir, sizeof(p->sysdir), "%s/block/dm-%u/vwcache_pool",
		 ctl_sysfs_root(), st->minor);
	p->have_sysfs = access(p->sysdir, F_OK) == 0;
	if (p->have_sysfs) {
		sval_read(p->sysdir, "ram_fixed_bytes", &p->ram_fixed);
		sval_read(p->sysdir, "ram_block_bytes", &p->ram_blocks);
	}
	s->nr_pools++;
	return 0;
}

static int add_vm(struct snapshot *s, const struct dm_dev_info *st)
{
	struct vm_dev *v;
	struct dm_dev_info tbl;
	void *np = grow(s->vms, s->nr_vms, sizeof(*s->vms));

	if (!np)
		return -ENOMEM;
	s->vms = np;
	v = &s->vms[s->nr_vms];
	memset(v, 0, sizeof(*v));
	v->dm = *st;
	v->pool = -1;
	if (ctl_parse_vm_status(st->params, &v->st))
		return 0;
	if (dm_get(st->name, true, &tbl) || ctl_parse_vm_table(tbl.params,
							       &v->tbl))
		return 0;
	snprintf(v->sysdir, sizeof(v->sysdir), "%s/block/dm-%u/vwcache",
		 ctl_sysfs_root(), st->minor);
	vm_read_sysfs(v);
	s->nr_vms++;
	return 0;
}

static void link_pools(struct snapshot *s)
{
	int i, j;

	for (i = 0; i < s->nr_vms; i++) {
		for (j = 0; j < s->nr_pools; j++) {
			char mm[32];

			snprintf(mm, sizeof(mm), "%u:%u", s->pools[j].dm.major,
				 s->pools[j].dm.minor);
			if (!strcmp(mm, s->vms[i].tbl.pool_dev))
				s->vms[i].pool = j;
		}
	}
}

/* Every vwcache device now; a failure has been reported (exit 1). */
int snapshot_take(struct snapshot *s)
{
	char (*names)[CTL_NAME_MAX];
	int i, n, r;

	memset(s, 0, sizeof(*s));
	r = dm_list(&names, &n);
	if (r) {
		ctl_err("cannot list device-mapper devices: %s (is dm-mod loaded, are you root?)",
			dm_last_error());
		return r;
	}
	for (i = 0; i < n && !r; i++) {
		struct dm_dev_info st;

		if (dm_get(names[i], false, &st))
			continue;	/* removed meanwhile */
		if (!strcmp(st.type, VWC_POOL_TARGET_NAME))
			r = add_pool(s, &st);
		else if (!strcmp(st.type, VWC_VM_TARGET_NAME))
			r = add_vm(s, &st);
	}
	free(names);
	if (r) {
		ctl_err("out of memory");
		snapshot_free(s);
		return r;
	}
	link_pools(s);
	s->when = ctl_now();
	return 0;
}

/* The dm name of device @mm ("major:minor"), from sysfs; -1 if none. */
static int dm_name_of_devno(const char *mm, char *name, size_t len)
{
	char path[512];
	size_t n;

	snprintf(path, sizeof(path), "%s/dev/block/%s/dm/name",
		 ctl_sysfs_root(), mm);
	if (ctl_sysfs_read(path, name, len))
		return -1;
	n = strcspn(name, "\n");
	name[n] = '\0';
	return n ? 0 : -1;
}

/*
 * A snapshot of the device @arg names (a dm name or /dev/mapper path),
 * for commands about that one device: a pool, or a VM device and its
 * pool.  It costs a few calls, not one for every device of the host, so
 * attach, detach and their waits stay O(1) with hundreds of VM devices.
 * When @arg is not the name of a pool or VM device (a vm_id, say), the
 * snapshot holds every device, as snapshot_take() does: the lookups and
 * error messages see exactly what they would see there.
 */
int snapshot_take_named(struct snapshot *s, const char *arg)
{
	struct dm_dev_info st;
	char pool[CTL_NAME_MAX];
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (dm_get(dm_name_of(arg), false, &st))
		return snapshot_take(s);
	if (!strcmp(st.type, VWC_POOL_TARGET_NAME))
		r = add_pool(s, &st);
	else if (!strcmp(st.type, VWC_VM_TARGET_NAME))
		r = add_vm(s, &st);
	else
		return snapshot_take(s);
	if (!r && s->nr_vms &&
	    !dm_name_of_devno(s->vms[0].tbl.pool_dev, pool, sizeof(pool)) &&
	    !dm_get(pool, false, &st) &&
	    !strcmp(st.type, VWC_POOL_TARGET_NAME))
		r = add_pool(s, &st);
	if (r) {
		ctl_err("out of memory");
		snapshot_free(s);
		return r;
	}
	if (!s->nr_pools && !s->nr_vms)
		return snapshot_take(s);	/* a status we do not parse */
	link_pools(s);
	s->when = ctl_now();
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	free(s->pools);
	free(s->vms);
	memset(s, 0, sizeof(*s));
}

/* "/dev/mapper/x" names the dm device "x". */
static const char *dm_name_of(const char *arg)
{
	static const char prefix[] = "/dev/mapper/";

	if (!strncmp(arg, prefix, sizeof(prefix) - 1))
		return arg + sizeof(prefix) - 1;
	return arg;
}

int snapshot_find_pool(const struct snapshot *s, const char *name)
{
	int i;

	name = dm_name_of(name);
	for (i = 0; i < s->nr_pools; i++)
		if (!strcmp(s->pools[i].dm.name, name))
			return i;
	return -1;
}

/* By dm name, else by vm_id; -2 when the vm_id is on several pools. */
int snapshot_find_vm(const struct snapshot *s, const char *arg)
{
	const char *name = dm_name_of(arg);
	int i, found = -1;

	for (i = 0; i < s->nr_vms; i++)
		if (!strcmp(s->vms[i].dm.name, name))
			return i;
	for (i = 0; i < s->nr_vms; i++) {
		if (strcmp(s->vms[i].tbl.vm_id, arg))
			continue;
		if (found >= 0)
			return -2;
		found = i;
	}
	return found;
}

uint64_t vm_block_size(const struct snapshot *s, const struct vm_dev *v)
{
	return v->pool >= 0 ? s->pools[v->pool].st.block_size : 0;
}

/* sysfs dirty_bytes when the module has it, else blocks x block size. */
uint64_t vm_dirty_bytes(const struct snapshot *s, const struct vm_dev *v)
{
	if (v->dirty_bytes.ok)
		return v->dirty_bytes.v;
	return v->st.dirty_blocks * vm_block_size(s, v);
}

const char *vm_pool_name(const struct snapshot *s, const struct vm_dev *v)
{
	return v->pool >= 0 ? s->pools[v->pool].dm.name : "?";
}

/* Index of pool @arg, or -1 with the reason printed. */
int resolve_pool(struct snapshot *s, const char *arg)
{
	int i = snapshot_find_pool(s, arg);

	if (i >= 0)
		return i;
	if (snapshot_find_vm(s, arg) >= 0)
		ctl_err("\"%s\" is a VM device, not a pool", arg);
	else
		ctl_err("no pool named \"%s\" (see 'dmcache-ctl list')", arg);
	return -1;
}

/* Index of VM device @arg (dm name or vm_id), or -1 with the reason. */
int resolve_vm(struct snapshot *s, const char *arg)
{
	int i = snapshot_find_vm(s, arg);

	if (i >= 0)
		return i;
	if (i == -2)
		ctl_err("vm_id \"%s\" is attached to several pools: name the VM device",
			arg);
	else if (snapshot_find_pool(s, arg) >= 0)
		ctl_err("\"%s\" is a pool, not a VM device", arg);
	else
		ctl_err("no VM device or vm_id \"%s\" (see 'dmcache-ctl list')",
			arg);
	return -1;
}
