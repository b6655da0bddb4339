// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: messages, numbers, sizes and the JSON writer.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "dm-vwcache-args.h"

const char *ctl_cmd_name = "";

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "dmcache-ctl: %s%s", ctl_cmd_name,
		*ctl_cmd_name ? ": " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* One line on stderr: "dmcache-ctl: CMD: what and why". */
void ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

/* A usage error: the message, exit status 2. */
int ctl_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

/* Any other failure: the message, exit status 1. */
int ctl_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

/* Plain decimal digits, no sign, no overflow: the module's own rule. */
int ctl_parse_u64(const char *s, uint64_t *out)
{
	return vwc_parse_u64(s, out);
}

/*
 * A size: digits with an optional suffix K, M, G, T (powers of 1024; "KiB",
 * "KB" and lower case accepted alike), or B for bytes.
 */
int ctl_parse_size(const char *s, uint64_t *out)
{
	char digits[32];
	const char *p = s;
	unsigned int shift = 0;
	uint64_t v;
	size_t n;

	if (!s)
		return -EINVAL;
	while (*p >= '0' && *p <= '9')
		p++;
	n = p - s;
	if (n == 0 || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (ctl_parse_u64(digits, &v))
		return -ERANGE;
	switch (*p) {
	case '\0':
		break;
	case 'b': case 'B':
		p++;
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift)
		p++;
	if (shift && (!strcmp(p, "iB") || !strcmp(p, "B")))
		p += strlen(p);
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

/* Seconds: a non-negative decimal, fractions allowed ("0.5"). */
int ctl_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

/* 1536 -> "1.5 KiB". */
void ctl_fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char * const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB"
	};
	unsigned int u = 0;

	while (bytes >= 1024 && u < 5) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0f B", bytes);
	else
		snprintf(buf, len, "%.1f %s", bytes, units[u]);
}

/* 75 -> "1:15", 3725 -> "1:02:05"; negative: "-". */
void ctl_fmt_secs(char *buf, size_t len, double secs)
{
	unsigned long s;

	if (secs < 0 || !isfinite(secs) || secs > 1e8) {
		snprintf(buf, len, "-");
		return;
	}
	s = (unsigned long)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60,
			 s % 60);
	else
		snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

double ctl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- JSON ---------------------------------------------------------------- */

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->first = true;
}

static void json_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Separator, newline, indentation and "key": before a value. */
static void json_key(struct json *j, const char *key)
{
	if (j->depth) {
		fputs(j->first ? "\n" : ",\n", j->f);
		fprintf(j->f, "%*s", 2 * j->depth, "");
	}
	j->first = false;
	if (key) {
		json_escaped(j->f, key);
		fputs(": ", j->f);
	}
}

void json_open(struct json *j, const char *key, char brace)
{
	json_key(j, key);
	fputc(brace, j->f);
	j->depth++;
	j->first = true;
}

void json_close(struct json *j, char brace)
{
	j->depth--;
	if (!j->first)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(brace, j->f);
	j->first = false;
}

void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_escaped(j->f, v);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_num(struct json *j, const char *key, double v)
{
	json_key(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.3f", v);
	else
		fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
}
