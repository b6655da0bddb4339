/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dmcache-ctl: shared declarations.
 *
 * Layers, each in its own file:
 *   util.c     messages, numbers and sizes, JSON output
 *   parse.c    command line options, status and table lines, sysfs files
 *              (no device access: unit tested in tests/unit/test_ctl.c)
 *   dm.c       libdevmapper: list, status, table, create, remove, message
 *   devices.c  a snapshot of every pool and VM device with sysfs values
 *              (or of one named device: snapshot_take_named())
 *   conf.c     /etc/dm-vwcache/vwcache.conf (no device access: unit
 *              tested in tests/unit/test_ctl.c)
 *   cmd_*.c    the subcommands (cmd_assemble.c: assemble and stop, through
 *              pool-create, attach, detach and pool-remove)
 *   check.c    offline check and dump of a cache device, on the module's
 *              own format code (drivers/md/dm-vwcache-format.c)
 *   dmcache-ctl.c  the command table, dispatch, help and completion
 */
#ifndef DMCACHE_CTL_H
#define DMCACHE_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <linux/dm-vwcache.h>

#include "dm-vwcache-version.h"
#define CTL_VERSION	VWC_VERSION

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define CTL_MAX_ARGS	8
#define CTL_MAX_OPTS	16
#define CTL_NAME_MAX	128

/* ---- util.c ---------------------------------------------------------- */

extern const char *ctl_cmd_name;

void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int ctl_parse_u64(const char *s, uint64_t *out);
int ctl_parse_size(const char *s, uint64_t *out);
int ctl_parse_seconds(const char *s, double *out);
void ctl_fmt_bytes(char *buf, size_t len, double bytes);
void ctl_fmt_secs(char *buf, size_t len, double secs);
double ctl_now(void);

/* A small JSON writer: pretty printed, two spaces a level. */
struct json {
	FILE *f;
	int depth;
	bool first;
};

void json_init(struct json *j, FILE *f);
void json_open(struct json *j, const char *key, char brace);
void json_close(struct json *j, char brace);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_num(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_end(struct json *j);

/* ---- parse.c: command line ------------------------------------------- */

struct ctl_opt {
	const char *name;	/* "--json" */
	const char *metavar;	/* NULL: a flag without value */
	const char *help;
};

struct ctl_args;

/* What a positional argument completes to in bash. */
enum ctl_complete {
	CTL_C_NONE,
	CTL_C_VM,		/* VM device names and vm_ids */
	CTL_C_POOL,		/* pool names */
	CTL_C_ANY,		/* VM or pool */
	CTL_C_DEV,		/* block devices and files */
	CTL_C_CMD,		/* subcommand names */
};

struct ctl_cmd {
	const char *name;
	const char *args;	/* positional part of the usage line */
	int min_args;
	int max_args;
	const struct ctl_opt *opts;	/* NULL-name terminated, or NULL */
	const char *help;
	int (*run)(struct ctl_args *a);
	enum ctl_complete complete;
};

/*
 * A command whose args end in "...]" passes on what follows its max_args
 * positional arguments: every argument left (options included, a leading
 * "--" dropped) goes to ctl_args.rest (migrate-domain's virsh options).
 */
bool ctl_cmd_passes_rest(const struct ctl_cmd *c);

struct ctl_args {
	const struct ctl_cmd *cmd;
	int argc;
	char *argv[CTL_MAX_ARGS];
	const char *val[CTL_MAX_OPTS];	/* indexed like cmd->opts */
	int nr_rest;			/* with cmd->pass_rest */
	char **rest;
};

int ctl_parse_cmdline(const struct ctl_cmd *c, int argc, char **argv,
		      struct ctl_args *a);
const char *ctl_opt(const struct ctl_args *a, const char *name);
int ctl_opt_u64(const struct ctl_args *a, const char *name, uint64_t def,
		uint64_t *out);
int ctl_opt_size(const struct ctl_args *a, const char *name, uint64_t def,
		 uint64_t *out);
int ctl_opt_seconds(const struct ctl_args *a, const char *name, double def,
		    double *out);

/* virsh domblklist --details: the sources of block disks, one a line. */
int ctl_parse_domblklist(const char *text, char *out, size_t len);

/* ---- parse.c: status and table lines --------------------------------- */

struct pool_status {
	char state[16];
	uint64_t block_size, total_blocks, free_blocks, dirty_blocks, nr_vms;
	uint64_t reads, read_hits, writes, write_hits, writeback_blocks;
	uint64_t commits;
};

struct vm_status {
	char mode[16];
	char state[16];
	uint64_t cached_blocks, dirty_blocks, reads, read_hits, writes;
	uint64_t write_hits, coalesced, writeback_blocks, throttled;
};

#define CTL_TABLE_KEYS	16	/* feature pairs kept from a table line */

struct pool_table {
	char cache_dev[64];
	uint64_t block_size;
	char keys[CTL_TABLE_KEYS][24];
	char vals[CTL_TABLE_KEYS][24];
	int nr;
};

struct vm_table {
	char pool_dev[64];
	char origin_dev[64];
	char vm_id[72];
	char keys[CTL_TABLE_KEYS][24];
	char vals[CTL_TABLE_KEYS][24];
	int nr;
};

int ctl_parse_pool_status(const char *line, struct pool_status *s);
int ctl_parse_vm_status(const char *line, struct vm_status *s);
int ctl_parse_pool_table(const char *line, struct pool_table *t);
int ctl_parse_vm_table(const char *line, struct vm_table *t);
const char *ctl_table_get(char keys[][24], char vals[][24], int nr,
			  const char *key);

/* ---- parse.c: sysfs --------------------------------------------------- */

/* Root of sysfs: $DMCACHE_CTL_SYSFS (tests), else /sys. */
const char *ctl_sysfs_root(void);
int ctl_nvme_disk_id(const char *nguid, const char *eui, char *out,
		     size_t len);
int ctl_sysfs_read(const char *path, char *buf, size_t len);
int ctl_sysfs_u64(const char *dir, const char *file, uint64_t *out);
int ctl_sysfs_write(const char *dir, const char *file, const char *val);

#define CTL_HIST_MAX	64

/* A log2 latency histogram: "bucket count" lines, bucket in us. */
struct ctl_hist {
	int n;
	uint64_t bucket[CTL_HIST_MAX];
	uint64_t count[CTL_HIST_MAX];
};

int ctl_parse_hist(const char *text, struct ctl_hist *h);

/* ---- parse.c: vm_id ----------------------------------------------------- */

int ctl_check_vm_id(const char *id, char *why, size_t len);
int ctl_normalize_key(const char *in, char *out, size_t len);

/* ---- dm.c ---------------------------------------------------------------- */

/* dm UUIDs of the devices dmcache-ctl makes (admin guide). */
#define CTL_POOL_UUID_PREFIX	"VWCACHE-POOL-"
#define CTL_VM_UUID_PREFIX	"VWCACHE-VM-"

struct dm_dev_info {
	char name[CTL_NAME_MAX];
	char type[32];
	uint32_t major, minor;
	uint64_t length;	/* sectors */
	char params[1024];
	char uuid[130];		/* dm UUID, "" when none */
	bool suspended;
};

int dm_init(void);
int dm_list(char (**names)[CTL_NAME_MAX], int *count);
int dm_get(const char *name, bool table, struct dm_dev_info *d);
int dm_create(const char *name, const char *uuid, uint64_t sectors,
	      const char *type, const char *params);
int dm_set_uuid(const char *name, const char *uuid, bool control);
int dm_remove(const char *name);
int dm_suspend(const char *name);
int dm_resume(const char *name);
int dm_message(const char *name, const char *msg);
const char *dm_last_error(void);
void kmsg_mark(void);
const char *kmsg_reason(char *buf, size_t len);

/* ---- devices.c ------------------------------------------------------- */

/* A value read from sysfs, or absent (module without that file). */
struct sval {
	bool ok;
	uint64_t v;
};

struct pool_dev {
	struct dm_dev_info dm;
	struct pool_status st;
	struct pool_table tbl;
	char sysdir[256];
	bool have_sysfs;
	struct sval ram_fixed, ram_blocks;	/* bytes of kernel RAM */
};

struct vm_dev {
	struct dm_dev_info dm;
	struct vm_status st;
	struct vm_table tbl;
	int pool;		/* index in snapshot pools, or -1 */
	char sysdir[256];
	bool have_sysfs;
	struct sval dirty_bytes, flush_eta_ms;
	struct sval read_bytes, write_bytes;
	struct sval read_iops, write_iops, read_bw, write_bw;
	struct sval iops_limit, bw_limit, cache_quota, weight;
	struct ctl_hist read_lat, write_lat;
	struct sval writeback_errors, read_lat_sum_ns, write_lat_sum_ns;
	struct sval sequential_bypassed;
};

struct snapshot {
	struct pool_dev *pools;
	int nr_pools;
	struct vm_dev *vms;
	int nr_vms;
	double when;
};

int snapshot_take(struct snapshot *s);
int snapshot_take_named(struct snapshot *s, const char *arg);
void vm_read_sysfs(struct vm_dev *v);
void snapshot_free(struct snapshot *s);
int snapshot_find_pool(const struct snapshot *s, const char *name);
int snapshot_find_vm(const struct snapshot *s, const char *name_or_id);
uint64_t vm_block_size(const struct snapshot *s, const struct vm_dev *v);
uint64_t vm_dirty_bytes(const struct snapshot *s, const struct vm_dev *v);
const char *vm_pool_name(const struct snapshot *s, const struct vm_dev *v);
int resolve_pool(struct snapshot *s, const char *arg);
int resolve_vm(struct snapshot *s, const char *arg);

/* ---- conf.c: /etc/dm-vwcache/vwcache.conf ------------------------------------- */

#define CTL_CONF_PATH		"/etc/dm-vwcache/vwcache.conf"
#define CTL_CONF_MAX_KV		16
#define CTL_CONF_STOP_TIMEOUT	300	/* s, stop_timeout's default */

/* One "pool" or "vm" line of the config. */
struct conf_entry {
	bool vm;
	int line;
	char name[CTL_NAME_MAX];
	char dev[1024];			/* pool: CACHE_DEV; vm: ORIGIN_DEV */
	char pool[CTL_NAME_MAX];	/* vm: its pool's name */
	char vm_id[72];
	int pool_entry;			/* vm: index of its pool's line */
	bool format;			/* pool: format=zeroed */
	int nr;				/* key=value pairs, as written */
	char key[CTL_CONF_MAX_KV][24];
	char val[CTL_CONF_MAX_KV][64];
};

struct conf {
	struct conf_entry *e;
	int nr;
	bool stop_flush;		/* option stop_flush=yes */
	double stop_timeout;		/* option stop_timeout=SECONDS */
};

int ctl_conf_parse(struct conf *c, const char *path, const char *text,
		   char *err, size_t errlen);
int ctl_conf_load(struct conf *c, const char *path, char *err,
		  size_t errlen);
void ctl_conf_free(struct conf *c);
int ctl_conf_argv(const struct conf_entry *e, char **argv, int max,
		  char *buf, size_t len);

/* ---- subcommands ------------------------------------------------------- */

int cmd_pool_create(struct ctl_args *a);
int cmd_pool_status(struct ctl_args *a);
int cmd_pool_remove(struct ctl_args *a);
int cmd_attach(struct ctl_args *a);
int cmd_detach(struct ctl_args *a);
int cmd_list(struct ctl_args *a);
int cmd_stats(struct ctl_args *a);
int cmd_set(struct ctl_args *a);
int cmd_flush(struct ctl_args *a);
int cmd_migrate_prepare(struct ctl_args *a);
int cmd_migrate_abort(struct ctl_args *a);
int cmd_migrate_plan(struct ctl_args *a);
int cmd_top(struct ctl_args *a);
int cmd_invalidate(struct ctl_args *a);
int cmd_migrate_domain(struct ctl_args *a);
int cmd_assemble(struct ctl_args *a);
int cmd_stop(struct ctl_args *a);
int cmd_check_origin(struct ctl_args *a);

/* dmcache-ctl.c: a row of the command table, by name */
const struct ctl_cmd *ctl_find_command(const char *name);

/* cmd_ctl.c: the checks pool-create and attach make, for the config too */
struct vwc_pool_settings;
struct vwc_vm_settings;
bool ctl_dm_name_ok(const char *name);
bool ctl_block_size_ok(uint64_t bs);
int ctl_pool_feature(struct vwc_pool_settings *s, const char *label,
		     const char *key, const char *in, char *out, size_t len,
		     char *why, size_t wlen);
int ctl_vm_feature(struct vwc_vm_settings *s, const char *label,
		   const char *key, const char *in, uint64_t block_size,
		   char *out, size_t len, char *why, size_t wlen);

/* What the head of a cache device holds. */
enum ctl_dev_content { DEV_ZERO, DEV_POOL, DEV_FOREIGN };
int ctl_cache_dev_content(const char *path, enum ctl_dev_content *c);

/* cmd_stats.c: the documented formats (-1: every pool / VM) */
void stats_json(FILE *f, const struct snapshot *s, int pool, int vm);
void stats_prometheus(FILE *f, const struct snapshot *s, int pool, int vm);
int cmd_check(struct ctl_args *a);
int cmd_dump(struct ctl_args *a);

/* check.c, also used by pool-create --format */
int ctl_dev_holds_pool(int fd, bool *holds);
int ctl_dev_pool_block_size(int fd, uint32_t *bs);
int ctl_dev_pool_uuid(const char *path, char *out, size_t len);
void ctl_dirty_vm_ids(const char *path, char *out, size_t len);

/* check.c: a vm_id's record (dirty blocks, origin), from the cache device. */
#include "dm-vwcache-format.h"

struct ctl_slot_dirty {
	char vm_id[VWC_VM_ID_MAX + 1];
	uint64_t dirty_blocks;
	uint32_t block_size;
	struct vwc_origin_id origin;
	bool have_attach;		/* how it was last attached: */
	struct vwc_attach_record attach;	/* path, mode, limits */
};

int ctl_vm_slots(const char *path, bool dirty_only, struct ctl_slot_dirty **out,
		 int *nr);
void ctl_origin_hex(const struct vwc_origin_id *o, char *hex);	/* 49 bytes */
const char *ctl_key_text(const struct vwc_key *k, const void *settings,
			 char *buf, size_t len);
void ctl_attach_settings_text(const struct vwc_vm_settings *st, FILE *f);
void ctl_attach_json(struct json *j, const struct vwc_attach_record *a);

/* cmd_ctl.c: the /dev path of a table's device ("MAJ:MIN" or a path). */
void ctl_dev_path(const char *dev, char *path, size_t len);

/* sha256.c */
void ctl_sha256(const void *data, size_t len, uint8_t out[32]);

/* orphans.c: vm_ids of a pool with dirty blocks and no VM device. */
#define CTL_ORIGIN_MATCHES	4	/* matching devices kept */

struct ctl_origin_match {
	char identity[160];	/* the identity string that matched */
	char device[320];	/* a path of the device */
	dev_t rdev;		/* 0: not a block device node we could stat */
	uint64_t sectors;	/* its size, 0 if unreadable */
};

struct ctl_orphan {
	struct ctl_slot_dirty slot;
	char identity[160];	/* the origin's identity string, if found */
	char device[320];	/* ... and a path of that device now */
	int nr_match;		/* distinct devices with that identity */
	struct ctl_origin_match match[CTL_ORIGIN_MATCHES];
};

void ctl_origin_resolve(struct ctl_orphan *o);

int ctl_pool_orphans(const struct snapshot *s, int p, struct ctl_orphan **out,
		     int *nr);
void ctl_orphans_text(const struct ctl_orphan *o, int nr);
void ctl_orphans_json(struct json *j, const struct ctl_orphan *o, int nr);

#endif /* DMCACHE_CTL_H */
