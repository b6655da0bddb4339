// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: /etc/dm-vwcache/vwcache.conf, the devices "assemble"
 * brings up at boot and "stop" takes down at shutdown (admin guide, "Boot
 * and shutdown").  One device a line, '#' starts a comment:
 *
 *   pool NAME CACHE_DEV [key=value]...
 *   vm   NAME POOL ORIGIN_DEV VM_ID [key=value]...
 *   option key=value...
 *
 * The parse is strict and complete before anything is created: every
 * name, path, vm_id, key and value is checked here with the same rules
 * pool-create and attach apply (the module's own for the settings), and
 * the first bad line is reported as "FILE:LINE: why".  No device access,
 * so tests/unit/test_ctl.c drives it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "dm-vwcache-args.h"

#define CONF_MAX_FIELDS	(6 + CTL_CONF_MAX_KV)
#define CONF_LINE_MAX	4096

static int conf_err(char *err, size_t len, const char *path, int line,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int conf_err(char *err, size_t len, const char *path, int line,
		    const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, len, "%s:%d: ", path, line);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Split @buf (modified) into whitespace separated fields; -1 if too many. */
static int split_fields(char *buf, char **f, int max)
{
	int n = 0;
	char *p = buf;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			return n;
		if (n == max)
			return -1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static const char * const pool_extra_keys[] = { "block_size", "format", NULL };
static const char * const option_keys[] = { "stop_flush", "stop_timeout", NULL };

static bool in_list(const char * const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static bool known_key(const struct conf_entry *e, const char *key)
{
	if (e->vm)
		return vwc_find_key(vwc_vm_keys, vwc_nr_vm_keys, key);
	return in_list(pool_extra_keys, key) ||
	       vwc_find_key(vwc_pool_keys, vwc_nr_pool_keys, key);
}

static const char *kv_get(const struct conf_entry *e, const char *key)
{
	int i;

	for (i = 0; i < e->nr; i++)
		if (!strcmp(e->key[i], key))
			return e->val[i];
	return NULL;
}

/* key=value fields of a line into @e: syntax, known keys, each once. */
static int parse_kvs(struct conf_entry *e, char **f, int n, const char *path,
		     char *err, size_t len)
{
	int i;

	for (i = 0; i < n; i++) {
		char *eq = strchr(f[i], '=');

		if (!eq || eq == f[i] || !eq[1])
			return conf_err(err, len, path, e->line,
					"\"%s\" is not key=value", f[i]);
		*eq = '\0';
		if (!known_key(e, f[i]))
			return conf_err(err, len, path, e->line,
					"%s has no setting \"%s\"",
					e->vm ? "a vm line" : "a pool line",
					f[i]);
		if (kv_get(e, f[i]))
			return conf_err(err, len, path, e->line,
					"%s given twice", f[i]);
		if (e->nr == CTL_CONF_MAX_KV || strlen(f[i]) >= sizeof(e->key[0]) ||
		    strlen(eq + 1) >= sizeof(e->val[0]))
			return conf_err(err, len, path, e->line,
					"%s=%s: too long", f[i], eq + 1);
		snprintf(e->key[e->nr], sizeof(e->key[0]), "%s", f[i]);
		snprintf(e->val[e->nr], sizeof(e->val[0]), "%s", eq + 1);
		e->nr++;
	}
	return 0;
}

/* The values, with pool-create's and attach's checks, in their order. */
static int check_values(struct conf_entry *e, const char *path, char *err,
			size_t len)
{
	char out[64], why[256];
	unsigned int i;

	if (e->vm) {
		struct vwc_vm_settings s;

		vwc_vm_defaults(&s);
		for (i = 0; i < vwc_nr_vm_keys; i++) {
			const char *k = vwc_vm_keys[i].name, *v = kv_get(e, k);

			if (v && ctl_vm_feature(&s, k, k, v, 0, out, sizeof(out),
						why, sizeof(why)))
				return conf_err(err, len, path, e->line, "%s",
						why);
		}
		return 0;
	}
	{
		struct vwc_pool_settings s;
		const char *v = kv_get(e, "block_size");
		uint64_t bs;

		if (v && (ctl_parse_size(v, &bs) || !ctl_block_size_ok(bs)))
			return conf_err(err, len, path, e->line,
					"block_size must be a power of two from 4K to 64K, not %s",
					v);
		v = kv_get(e, "format");
		if (v && strcmp(v, "zeroed"))
			return conf_err(err, len, path, e->line,
					"format=%s: the only value is \"zeroed\" (format a device whose first 4 KiB are zero)",
					v);
		e->format = v;
		vwc_pool_defaults(&s);
		for (i = 0; i < vwc_nr_pool_keys; i++) {
			const char *k = vwc_pool_keys[i].name;

			v = kv_get(e, k);
			if (v && ctl_pool_feature(&s, k, k, v, out, sizeof(out),
						  why, sizeof(why)))
				return conf_err(err, len, path, e->line, "%s",
						why);
		}
	}
	return 0;
}

static int find_name(const struct conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->nr; i++)
		if (!strcmp(c->e[i].name, name))
			return i;
	return -1;
}

/* NAME, and a device path (absolute, not another line's). */
static int check_name_dev(const struct conf *c, const struct conf_entry *e,
			  const char *path, char *err, size_t len)
{
	int i;

	if (!ctl_dm_name_ok(e->name))
		return conf_err(err, len, path, e->line,
				"invalid device name \"%s\": 1 to 127 characters, no '/'",
				e->name);
	i = find_name(c, e->name);
	if (i >= 0)
		return conf_err(err, len, path, e->line,
				"the name %s is taken by line %d", e->name,
				c->e[i].line);
	if (e->dev[0] != '/')
		return conf_err(err, len, path, e->line,
				"%s device \"%s\" is not an absolute path",
				e->vm ? "origin" : "cache", e->dev);
	for (i = 0; i < c->nr; i++)
		if (!strcmp(c->e[i].dev, e->dev))
			return conf_err(err, len, path, e->line,
					"%s is already the %s device of line %d",
					e->dev, c->e[i].vm ? "origin" : "cache",
					c->e[i].line);
	return 0;
}

static int parse_pool(struct conf *c, struct conf_entry *e, char **f, int n,
		      const char *path, char *err, size_t len)
{
	if (n < 3)
		return conf_err(err, len, path, e->line,
				"a pool line is: pool NAME CACHE_DEV [key=value]...");
	if (strlen(f[1]) >= sizeof(e->name) || strlen(f[2]) >= sizeof(e->dev))
		return conf_err(err, len, path, e->line, "name or path too long");
	strcpy(e->name, f[1]);
	strcpy(e->dev, f[2]);
	if (check_name_dev(c, e, path, err, len))
		return -EINVAL;
	if (parse_kvs(e, f + 3, n - 3, path, err, len))
		return -EINVAL;
	return check_values(e, path, err, len);
}

static int parse_vm(struct conf *c, struct conf_entry *e, char **f, int n,
		    const char *path, char *err, size_t len)
{
	char why[160];
	int i;

	if (n < 5)
		return conf_err(err, len, path, e->line,
				"a vm line is: vm NAME POOL ORIGIN_DEV VM_ID [key=value]...");
	if (strlen(f[1]) >= sizeof(e->name) || strlen(f[2]) >= sizeof(e->pool) ||
	    strlen(f[3]) >= sizeof(e->dev))
		return conf_err(err, len, path, e->line, "name or path too long");
	strcpy(e->name, f[1]);
	strcpy(e->pool, f[2]);
	strcpy(e->dev, f[3]);
	if (check_name_dev(c, e, path, err, len))
		return -EINVAL;
	if (ctl_check_vm_id(f[4], why, sizeof(why)))
		return conf_err(err, len, path, e->line, "%s", why);
	strcpy(e->vm_id, f[4]);
	i = find_name(c, e->pool);
	if (i < 0 || c->e[i].vm)
		return conf_err(err, len, path, e->line,
				"no pool line named %s above this line",
				e->pool);
	e->pool_entry = i;
	for (i = 0; i < c->nr; i++)
		if (c->e[i].vm && !strcmp(c->e[i].pool, e->pool) &&
		    !strcmp(c->e[i].vm_id, e->vm_id))
			return conf_err(err, len, path, e->line,
					"vm_id %s is already in pool %s on line %d",
					e->vm_id, e->pool, c->e[i].line);
	if (parse_kvs(e, f + 5, n - 5, path, err, len))
		return -EINVAL;
	return check_values(e, path, err, len);
}

/* option stop_flush=yes|no stop_timeout=SECONDS */
static int parse_option(struct conf *c, int line, char **f, int n,
			const char *path, char *err, size_t len)
{
	int i;

	if (n < 2)
		return conf_err(err, len, path, line,
				"an option line is: option key=value...");
	for (i = 1; i < n; i++) {
		char *eq = strchr(f[i], '='), *v;

		if (!eq || eq == f[i] || !eq[1])
			return conf_err(err, len, path, line,
					"\"%s\" is not key=value", f[i]);
		*eq = '\0';
		v = eq + 1;
		if (!in_list(option_keys, f[i]))
			return conf_err(err, len, path, line,
					"no option \"%s\" (stop_flush, stop_timeout)",
					f[i]);
		if (!strcmp(f[i], "stop_flush")) {
			if (strcmp(v, "yes") && strcmp(v, "no"))
				return conf_err(err, len, path, line,
						"stop_flush is yes or no, not \"%s\"",
						v);
			c->stop_flush = !strcmp(v, "yes");
		} else if (ctl_parse_seconds(v, &c->stop_timeout) ||
			   c->stop_timeout <= 0 || c->stop_timeout > 86400) {
			return conf_err(err, len, path, line,
					"stop_timeout is seconds from 1 to 86400, not \"%s\"",
					v);
		}
	}
	return 0;
}

void ctl_conf_free(struct conf *c)
{
	free(c->e);
	c->e = NULL;
	c->nr = 0;
}

/*
 * Parse the config @text read from @path into @c: 0, or -EINVAL with
 * "PATH:LINE: why" in @err and @c empty.
 */
int ctl_conf_parse(struct conf *c, const char *path, const char *text,
		   char *err, size_t errlen)
{
	const char *p = text, *end;
	int line = 0, cap = 0, r = 0;

	memset(c, 0, sizeof(*c));
	c->stop_timeout = CTL_CONF_STOP_TIMEOUT;
	for (; *p && !r; p = *end ? end + 1 : end) {
		char buf[CONF_LINE_MAX], *f[CONF_MAX_FIELDS], *hash;
		struct conf_entry *e;
		int n;

		end = strchrnul(p, '\n');
		line++;
		if (end - p >= (long)sizeof(buf)) {
			r = conf_err(err, errlen, path, line, "line too long");
			break;
		}
		memcpy(buf, p, end - p);
		buf[end - p] = '\0';
		hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		n = split_fields(buf, f, CONF_MAX_FIELDS);
		if (n < 0) {
			r = conf_err(err, errlen, path, line, "too many fields");
			break;
		}
		if (!n)
			continue;
		if (!strcmp(f[0], "option")) {
			r = parse_option(c, line, f, n, path, err, errlen);
			continue;
		}
		if (strcmp(f[0], "pool") && strcmp(f[0], "vm")) {
			r = conf_err(err, errlen, path, line,
				     "unknown line \"%s\": pool, vm or option",
				     f[0]);
			break;
		}
		if (c->nr == cap) {
			void *np;

			cap = cap ? 2 * cap : 16;
			np = realloc(c->e, cap * sizeof(*c->e));
			if (!np) {
				r = conf_err(err, errlen, path, line,
					     "out of memory");
				break;
			}
			c->e = np;
		}
		e = &c->e[c->nr];
		memset(e, 0, sizeof(*e));
		e->line = line;
		e->vm = !strcmp(f[0], "vm");
		e->pool_entry = -1;
		r = e->vm ? parse_vm(c, e, f, n, path, err, errlen) :
			    parse_pool(c, e, f, n, path, err, errlen);
		if (!r)
			c->nr++;
	}
	if (r)
		ctl_conf_free(c);
	return r;
}

/* Read and parse @path: 0, or -errno with the reason in @err. */
int ctl_conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f, *m;
	int ch, r;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	m = open_memstream(&text, &len);
	if (!m) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while ((ch = getc(f)) != EOF && ch)
		putc(ch, m);
	r = ferror(f) ? -EIO : ch ? 0 : -EINVAL;
	fclose(f);
	fclose(m);
	if (r == -EIO)
		snprintf(err, errlen, "cannot read %s", path);
	else if (r)
		snprintf(err, errlen, "%s: a NUL byte: not a text file", path);
	else
		r = ctl_conf_parse(c, path, text, err, errlen);
	free(text);
	return r;
}

/*
 * The command line that brings up @e, for the command table's pool-create
 * or attach (argv[0] is the command's name): a key=value becomes the
 * option --key-with-dashes (block_size=8K: --block-size 8K); format= is
 * assemble's own and not passed.  Strings live in @buf.  The number of
 * arguments, or -1 if @max or @len is too small.
 */
int ctl_conf_argv(const struct conf_entry *e, char **argv, int max,
		  char *buf, size_t len)
{
	size_t used = 0;
	int n = 0, i;

#define ADD(fmt, ...) do { \
	int _w = snprintf(buf + used, len - used, fmt, __VA_ARGS__); \
	if (_w < 0 || (size_t)_w >= len - used || n == max) \
		return -1; \
	argv[n++] = buf + used; \
	used += _w + 1; \
} while (0)

	if (e->vm) {
		ADD("%s", "attach");
		ADD("%s", e->pool);
		ADD("%s", e->dev);
		ADD("%s", e->vm_id);
	} else {
		ADD("%s", "pool-create");
		ADD("%s", e->dev);
	}
	ADD("%s", "--name");
	ADD("%s", e->name);
	for (i = 0; i < e->nr; i++) {
		char opt[32], *p;

		if (!strcmp(e->key[i], "format"))
			continue;
		snprintf(opt, sizeof(opt), "--%s", e->key[i]);
		for (p = opt; *p; p++)
			if (*p == '_')
				*p = '-';
		ADD("%s", opt);
		ADD("%s", e->val[i]);
	}
#undef ADD
	return n;
}
