// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: parsing without device access, so unit tests can drive it:
 * command line options against a command's option table, the status and
 * table lines of both targets (field positions of interface.md; fields
 * added at the end are ignored), sysfs files and latency histograms.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* ---- virsh output -------------------------------------------------------- */

/*
 * The output of "virsh domblklist --details DOMAIN": a header line
 * ("Type Device Target Source"), a line of dashes, then one disk a line,
 * "block disk vda /dev/mapper/x" (the source is the rest of the line, "-"
 * when the disk has none).  Writes the sources of type "block" to @out,
 * one a line; returns how many, or -1 when @text is not such a table or
 * @out is too small.
 */
int ctl_parse_domblklist(const char *text, char *out, size_t len)
{
	const char *line = text, *end;
	bool header = false, dashes = false;
	size_t used = 0;
	int n = 0;

	*out = '\0';
	for (; *line; line = *end ? end + 1 : end) {
		char type[32], src[4096];
		int off = 0;

		end = strchrnul(line, '\n');
		if (end - line >= (long)sizeof(src))
			return -1;
		memcpy(src, line, end - line);
		src[end - line] = '\0';
		if (!header) {
			sscanf(src, " Type Device Target Source%n", &off);
			if (off)
				header = true;
			else if (strspn(src, " \t") != strlen(src))
				return -1;
			continue;
		}
		if (!dashes) {
			if (!src[strspn(src, " -")] && strchr(src, '-'))
				dashes = true;
			else
				return -1;
			continue;
		}
		if (sscanf(src, " %31s %*s %*s %n", type, &off) < 1 || !off)
			continue;
		if (strcmp(type, "block") || !strcmp(src + off, "-"))
			continue;
		while (off && strlen(src + off) &&
		       isspace((unsigned char)src[strlen(src) - 1]))
			src[strlen(src) - 1] = '\0';
		if (used + strlen(src + off) + 2 > len)
			return -1;
		used += sprintf(out + used, "%s\n", src + off);
		n++;
	}
	return dashes ? n : -1;
}

/* ---- command line -------------------------------------------------------- */

static int find_opt(const struct ctl_cmd *c, const char *name, size_t len)
{
	int i;

	for (i = 0; c->opts && c->opts[i].name; i++)
		if (strlen(c->opts[i].name) == len &&
		    !strncmp(c->opts[i].name, name, len))
			return i;
	return -1;
}

bool ctl_cmd_passes_rest(const struct ctl_cmd *c)
{
	size_t n = strlen(c->args);

	return n >= 4 && !strcmp(c->args + n - 4, "...]");
}

/*
 * Split @argv (after the subcommand) into positional arguments and the
 * options of @c: "--opt value", "--opt=value" or "--flag"; "--" ends the
 * options.  A usage error prints its message and returns EXIT_USAGE.
 */
int ctl_parse_cmdline(const struct ctl_cmd *c, int argc, char **argv,
		      struct ctl_args *a)
{
	bool opts_done = false, rest = ctl_cmd_passes_rest(c);
	int i;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	for (i = 0; i < argc; i++) {
		char *s = argv[i];
		const char *eq;
		int o;

		if (rest && a->argc == c->max_args) {
			if (!opts_done && !strcmp(s, "--"))
				i++;
			a->rest = argv + i;
			a->nr_rest = argc - i;
			break;
		}
		if (!opts_done && !strcmp(s, "--")) {
			opts_done = true;
			continue;
		}
		if (opts_done || s[0] != '-' || !s[1]) {
			if (a->argc >= c->max_args)
				return ctl_usage("unexpected argument \"%s\" (usage: %s %s)",
						 s, c->name, c->args);
			a->argv[a->argc++] = s;
			continue;
		}
		eq = strchr(s, '=');
		o = find_opt(c, s, eq ? (size_t)(eq - s) : strlen(s));
		if (o < 0)
			return ctl_usage("unknown option %.*s (see 'dmcache-ctl help %s')",
					 eq ? (int)(eq - s) : (int)strlen(s), s,
					 c->name);
		if (a->val[o])
			return ctl_usage("option %s given twice",
					 c->opts[o].name);
		if (!c->opts[o].metavar) {
			if (eq)
				return ctl_usage("option %s takes no value",
						 c->opts[o].name);
			a->val[o] = "";
		} else if (eq) {
			a->val[o] = eq + 1;
		} else if (i + 1 < argc) {
			a->val[o] = argv[++i];
		} else {
			return ctl_usage("option %s needs a value (%s)",
					 c->opts[o].name, c->opts[o].metavar);
		}
	}
	if (a->argc < c->min_args)
		return ctl_usage("missing arguments (usage: %s %s)", c->name,
				 c->args);
	return 0;
}

/* The value of option @name ("" for a flag), NULL if not given. */
const char *ctl_opt(const struct ctl_args *a, const char *name)
{
	int o = find_opt(a->cmd, name, strlen(name));

	return o < 0 ? NULL : a->val[o];
}

int ctl_opt_u64(const struct ctl_args *a, const char *name, uint64_t def,
		uint64_t *out)
{
	const char *v = ctl_opt(a, name);

	*out = def;
	if (v && ctl_parse_u64(v, out))
		return ctl_usage("%s wants a whole number, not \"%s\"", name, v);
	return 0;
}

int ctl_opt_size(const struct ctl_args *a, const char *name, uint64_t def,
		 uint64_t *out)
{
	const char *v = ctl_opt(a, name);

	*out = def;
	if (v && ctl_parse_size(v, out))
		return ctl_usage("%s wants a size (digits with K, M, G or T), not \"%s\"",
				 name, v);
	return 0;
}

int ctl_opt_seconds(const struct ctl_args *a, const char *name, double def,
		    double *out)
{
	const char *v = ctl_opt(a, name);

	*out = def;
	if (v && ctl_parse_seconds(v, out))
		return ctl_usage("%s wants seconds, not \"%s\"", name, v);
	return 0;
}

/* ---- status and table lines ---------------------------------------------- */

#define MAX_FIELDS	64

/* Split @line at spaces into @buf; returns the number of fields. */
static int split(const char *line, char *buf, size_t len, char **f)
{
	int n = 0;
	char *p;

	if (!line || strlen(line) >= len)
		return -1;
	strcpy(buf, line);
	for (p = strtok(buf, " \t\n"); p && n < MAX_FIELDS;
	     p = strtok(NULL, " \t\n"))
		f[n++] = p;
	return n;
}

static int copy_word(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

static int parse_u64s(char **f, uint64_t **dst, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (ctl_parse_u64(f[i], dst[i]))
			return -EINVAL;
	return 0;
}

static bool one_of(const char *s, const char * const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static const char * const pool_states[] = { "ok", "degraded", "failed", NULL };
static const char * const vm_states[] = {
	"ok", "flushing", "migrating", "clean", "error", NULL
};
static const char * const vm_modes[] = {
	"writeback", "writethrough", "passthrough", NULL
};

/*
 * <state> <block_size> <total_blocks> <free_blocks> <dirty_blocks> <nr_vms>
 * <reads> <read_hits> <writes> <write_hits> <writeback_blocks> <commits>
 */
int ctl_parse_pool_status(const char *line, struct pool_status *s)
{
	char buf[1024], *f[MAX_FIELDS];
	uint64_t *dst[] = {
		&s->block_size, &s->total_blocks, &s->free_blocks,
		&s->dirty_blocks, &s->nr_vms, &s->reads, &s->read_hits,
		&s->writes, &s->write_hits, &s->writeback_blocks, &s->commits,
	};
	int n = split(line, buf, sizeof(buf), f);

	memset(s, 0, sizeof(*s));
	if (n < 12 || !one_of(f[0], pool_states) ||
	    copy_word(s->state, sizeof(s->state), f[0]))
		return -EINVAL;
	if (parse_u64s(f + 1, dst, 11))
		return -EINVAL;
	if (s->free_blocks > s->total_blocks ||
	    s->dirty_blocks > s->total_blocks)
		return -EINVAL;
	return 0;
}

/*
 * <mode> <state> <cached_blocks> <dirty_blocks> <reads> <read_hits> <writes>
 * <write_hits> <coalesced> <writeback_blocks> <throttled>
 */
int ctl_parse_vm_status(const char *line, struct vm_status *s)
{
	char buf[1024], *f[MAX_FIELDS];
	uint64_t *dst[] = {
		&s->cached_blocks, &s->dirty_blocks, &s->reads, &s->read_hits,
		&s->writes, &s->write_hits, &s->coalesced,
		&s->writeback_blocks, &s->throttled,
	};
	int n = split(line, buf, sizeof(buf), f);

	memset(s, 0, sizeof(*s));
	if (n < 11 || !one_of(f[0], vm_modes) || !one_of(f[1], vm_states))
		return -EINVAL;
	strcpy(s->mode, f[0]);
	strcpy(s->state, f[1]);
	if (parse_u64s(f + 2, dst, 9))
		return -EINVAL;
	if (s->dirty_blocks > s->cached_blocks)
		return -EINVAL;
	return 0;
}

/* "<#args> key value..." at @f[0], into @keys/@vals. */
static int parse_features(char **f, int n, char keys[][24], char vals[][24],
			  int *nr)
{
	uint64_t count;
	int i;

	*nr = 0;
	if (n < 1 || ctl_parse_u64(f[0], &count) || count % 2 ||
	    count != (uint64_t)(n - 1) || count / 2 > CTL_TABLE_KEYS)
		return -EINVAL;
	for (i = 0; i < (int)count / 2; i++) {
		if (copy_word(keys[i], 24, f[1 + 2 * i]) ||
		    copy_word(vals[i], 24, f[2 + 2 * i]))
			return -EINVAL;
	}
	*nr = count / 2;
	return 0;
}

/* <cache_dev> <block_size> <#feature args> [<feature arg>...] */
int ctl_parse_pool_table(const char *line, struct pool_table *t)
{
	char buf[1024], *f[MAX_FIELDS];
	int n = split(line, buf, sizeof(buf), f);

	memset(t, 0, sizeof(*t));
	if (n < 3 || copy_word(t->cache_dev, sizeof(t->cache_dev), f[0]) ||
	    ctl_parse_u64(f[1], &t->block_size))
		return -EINVAL;
	return parse_features(f + 2, n - 2, t->keys, t->vals, &t->nr);
}

/* <pool_dev> <origin_dev> <vm_id> <#feature args> [<feature arg>...] */
int ctl_parse_vm_table(const char *line, struct vm_table *t)
{
	char buf[1024], *f[MAX_FIELDS];
	int n = split(line, buf, sizeof(buf), f);

	memset(t, 0, sizeof(*t));
	if (n < 4 || copy_word(t->pool_dev, sizeof(t->pool_dev), f[0]) ||
	    copy_word(t->origin_dev, sizeof(t->origin_dev), f[1]) ||
	    copy_word(t->vm_id, sizeof(t->vm_id), f[2]))
		return -EINVAL;
	return parse_features(f + 3, n - 3, t->keys, t->vals, &t->nr);
}

const char *ctl_table_get(char keys[][24], char vals[][24], int nr,
			  const char *key)
{
	int i;

	for (i = 0; i < nr; i++)
		if (!strcmp(keys[i], key))
			return vals[i];
	return NULL;
}

/* ---- sysfs ---------------------------------------------------------------- */

/* The hex digits of @text, lowercase, if exactly @want of them; else 0. */
static size_t hex_digits(const char *text, char *out, size_t want)
{
	size_t n = 0;
	bool zero = true;

	for (; text && *text; text++) {
		if (*text == '-' || *text == ' ' || *text == '\n')
			continue;
		if (!isxdigit((unsigned char)*text) || n == want)
			return 0;
		out[n++] = (char)tolower((unsigned char)*text);
		zero &= *text == '0';
	}
	out[n] = '\0';
	return n == want && !zero ? n : 0;
}

/*
 * The disk-id the kernel (6.11 and later) gives an NVMe namespace:
 * "eui." and its NGUID, else its EUI-64, in hex, from the namespace's
 * sysfs texts nguid ("%pU") and eui ("%8ph"), NULL when absent.  0, or -1
 * when it has neither.
 */
int ctl_nvme_disk_id(const char *nguid, const char *eui, char *out,
		     size_t len)
{
	char hex[33];

	if (len < 37)
		return -1;
	if (hex_digits(nguid, hex, 32) || hex_digits(eui, hex, 16)) {
		snprintf(out, len, "eui.%s", hex);
		return 0;
	}
	return -1;
}

const char *ctl_sysfs_root(void)
{
	const char *r = getenv("DMCACHE_CTL_SYSFS");

	return r && *r ? r : "/sys";
}

/* Read a whole (small) file; trailing newline removed. */
int ctl_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return 0;
}

int ctl_sysfs_u64(const char *dir, const char *file, uint64_t *out)
{
	char path[512], buf[64];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	r = ctl_sysfs_read(path, buf, sizeof(buf));
	if (r)
		return r;
	return ctl_parse_u64(buf, out) ? -EINVAL : 0;
}

int ctl_sysfs_write(const char *dir, const char *file, const char *val)
{
	char path[512];
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(val))
		r = -EIO;
	close(fd);
	return r;
}

/* "bucket count" lines, buckets ascending. */
int ctl_parse_hist(const char *text, struct ctl_hist *h)
{
	const char *p = text;

	memset(h, 0, sizeof(*h));
	while (*p) {
		char line[128], *sp;
		size_t len = strcspn(p, "\n");

		if (len >= sizeof(line))
			return -EINVAL;
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		if (!len)
			continue;
		sp = strchr(line, ' ');
		if (!sp || h->n >= CTL_HIST_MAX)
			return -EINVAL;
		*sp++ = '\0';
		if (ctl_parse_u64(line, &h->bucket[h->n]) ||
		    ctl_parse_u64(sp, &h->count[h->n]))
			return -EINVAL;
		if (h->n && h->bucket[h->n] <= h->bucket[h->n - 1])
			return -EINVAL;
		h->n++;
	}
	return 0;
}

/* ---- names ---------------------------------------------------------------- */

/* The module's rule, with the reason spelled out: 0 or -EINVAL and @why. */
int ctl_check_vm_id(const char *id, char *why, size_t len)
{
	const char *p;

	if (!*id) {
		snprintf(why, len, "vm_id is empty");
		return -EINVAL;
	}
	if (strlen(id) > 64) {
		snprintf(why, len, "vm_id \"%.20s...\" has %zu characters, at most 64",
			 id, strlen(id));
		return -EINVAL;
	}
	for (p = id; *p; p++) {
		unsigned char c = *p;

		if (isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-')
			continue;
		if (c == ' ')
			snprintf(why, len, "vm_id \"%s\" has a space", id);
		else if (isprint(c))
			snprintf(why, len, "vm_id \"%s\" has '%c': use only [A-Za-z0-9._:-]",
				 id, c);
		else
			snprintf(why, len, "vm_id has byte 0x%02x: use only [A-Za-z0-9._:-]",
				 c);
		return -EINVAL;
	}
	return 0;
}

/* "iops-limit" and "iops_limit" name the same key. */
int ctl_normalize_key(const char *in, char *out, size_t len)
{
	size_t i;

	if (strlen(in) >= len)
		return -EINVAL;
	for (i = 0; in[i]; i++)
		out[i] = in[i] == '-' ? '_' : in[i];
	out[i] = '\0';
	return 0;
}
