// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmcache-ctl: the operator's tool for dm-vwcache pools and VM devices.
 *
 * Every subcommand is one row of the command table below (name, arguments,
 * options, help, handler, what its argument completes to): dispatch, option
 * parsing, "help", "help CMD" and the bash completion script ("completion",
 * generated at build time) all come from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define OPT_JSON	{ "--json", NULL, "JSON output (schema in dmcache-ctl(8))" }
#define OPT_END		{ NULL, NULL, NULL }

static const struct ctl_opt o_pool_create[] = {
	{ "--name", "NAME", "device-mapper name of the pool (default vwpool)" },
	{ "--block-size", "SIZE", "cache block size, 4K to 64K (default 4K, or the loaded pool's)" },
	{ "--format", NULL, "zero the head of CACHE_DEV so that a new pool is formatted" },
	{ "--force", NULL, "with --format: format even a device that holds a pool" },
	{ "--high-watermark", "PCT", "dirty share of the pool that starts writeback (default 50)" },
	{ "--low-watermark", "PCT", "dirty share that stops it (default 25)" },
	{ "--max-age", "MS", "write back data dirty this long, 0 = never (default 60000)" },
	{ "--commit-interval", "MS", "periodic metadata commit (default 1000)" },
	{ "--writeback-iops", "N", "cap on background writeback I/O, 0 = none" },
	{ "--io-capacity-iops", "N", "IOPS the SSD serves, shared by weight; 0 = unlimited" },
	{ "--io-capacity-bw", "SIZE", "bytes/s the SSD serves, shared by weight; 0 = unlimited" },
	{ "--sequential-cutoff", "SIZE", "streams past this bypass the pool under pressure; 0 = off" },
	{ "--writeback-depth", "N", "writeback runs in flight per origin; 0 = its queue depth" },
	OPT_END
};

static const struct ctl_opt o_json[] = { OPT_JSON, OPT_END };

static const struct ctl_opt o_attach[] = {
	{ "--name", "NAME", "device-mapper name (default: the vm_id)" },
	{ "--mode", "writeback|writethrough|passthrough", "cache mode (default writeback)" },
	{ "--iops-limit", "N", "I/O per second, 0 = unlimited" },
	{ "--bw-limit", "SIZE", "bytes per second, 0 = unlimited" },
	{ "--cache-quota", "SIZE", "most pool space this VM may hold: blocks, or bytes with K/M/G/T" },
	{ "--weight", "W", "share of the pool's I/O capacity, 1 to 1000 (default 100)" },
	OPT_END
};

static const struct ctl_opt o_detach[] = {
	{ "--no-flush", NULL, "keep the VM's dirty data in the pool (its origin is then not up to date)" },
	{ "--flush", NULL, "write back the VM's dirty data first and wait for it (the default)" },
	{ "--timeout", "SECONDS", "give up the write-back after this long" },
	OPT_END
};

static const struct ctl_opt o_pool_remove[] = {
	{ "--force", NULL, "remove even with dirty data of detached VMs (kept on the cache device)" },
	OPT_END
};

static const struct ctl_opt o_list[] = {
	{ "--names", "vm|pool|all", "only the names (for scripts and completion)" },
	OPT_END
};

static const struct ctl_opt o_stats[] = {
	OPT_JSON,
	{ "--prometheus", NULL, "Prometheus text exposition format" },
	{ "--output", "FILE", "write FILE atomically (node exporter's textfile collector)" },
	OPT_END
};

static const struct ctl_opt o_wait[] = {
	{ "--wait", NULL, "wait until done, with progress (a bar on a terminal)" },
	{ "--timeout", "SECONDS", "with --wait: give up after this long (exit 1)" },
	OPT_END
};

static const struct ctl_opt o_plan[] = {
	{ "--sample", "SECONDS", "measure writeback rates this long (default 1)" },
	OPT_JSON,
	OPT_END
};

static const struct ctl_opt o_top[] = {
	{ "--sort", "vm|pool|state|riops|wiops|iops|rbw|wbw|bw|hit|cached|dirty|throttled",
	  "sort column (default iops)" },
	{ "--interval", "SECONDS", "refresh period (default 1)" },
	{ "--iterations", "N", "stop after N refreshes (default: until q or Ctrl-C)" },
	OPT_END
};

static const struct ctl_opt o_force[] = {
	{ "--force", NULL, "read a device held by an active pool anyway" },
	OPT_END
};

static const struct ctl_opt o_dump[] = {
	OPT_JSON,
	{ "--force", NULL, "read a device held by an active pool anyway" },
	OPT_END
};

static const struct ctl_opt o_migrate_domain[] = {
	{ "--timeout", "SECONDS", "give up on a disk's flush after this long (then abort all)" },
	{ "--connect", "URI", "libvirt URI of this host, for virsh -c (default: virsh's)" },
	OPT_END
};

static const struct ctl_opt o_assemble[] = {
	{ "--config", "FILE", "the config (default /etc/dm-vwcache/vwcache.conf)" },
	{ "--wait", "SECONDS", "wait this long for devices of the config that are not there yet (default 0)" },
	{ "--from-pool", "CACHE_DEV", "instead of the config: the pool on CACHE_DEV and a VM device for each of its vm_ids, on the origin its record names" },
	{ "--name", "NAME", "with --from-pool: the pool's name if it is not active (default vwpool)" },
	OPT_END
};

static const struct ctl_opt o_stop[] = {
	{ "--config", "FILE", "the config (default /etc/dm-vwcache/vwcache.conf)" },
	{ "--flush", NULL, "write back the VMs' dirty data first (default: the config's stop_flush, else no)" },
	{ "--no-flush", NULL, "keep the dirty data in the pools (committed) even if the config says stop_flush=yes" },
	{ "--timeout", "SECONDS", "give up flushing after this long in all (default: stop_timeout, 300)" },
	OPT_END
};

static int cmd_help(struct ctl_args *a);
static int cmd_version(struct ctl_args *a);
static int cmd_completion(struct ctl_args *a);

static const struct ctl_cmd commands[] = {
	{ "pool-create", "CACHE_DEV", 1, 1, o_pool_create,
	  "create a pool on CACHE_DEV (formats a zeroed device, loads a pool)",
	  cmd_pool_create, CTL_C_DEV },
	{ "pool-status", "[POOL]", 0, 1, o_json,
	  "state, occupancy, counters, settings and orphans (dirty vm_ids without a VM device) of the pools",
	  cmd_pool_status, CTL_C_POOL },
	{ "pool-remove", "POOL", 1, 1, o_pool_remove,
	  "remove a pool without VM devices (refused while detached VMs have dirty data, unless --force)",
	  cmd_pool_remove, CTL_C_POOL },
	{ "attach", "POOL ORIGIN VM_ID", 3, 3, o_attach,
	  "create a VM device for VM_ID on ORIGIN, cached by POOL",
	  cmd_attach, CTL_C_POOL },
	{ "detach", "VM", 1, 1, o_detach,
	  "write back a VM's dirty data, then remove its VM device (--no-flush keeps the data in the pool)",
	  cmd_detach, CTL_C_VM },
	{ "list", "", 0, 0, o_list,
	  "pools and their VM devices",
	  cmd_list, CTL_C_NONE },
	{ "stats", "[VM|POOL]", 0, 1, o_stats,
	  "per-VM counters, rates and settings",
	  cmd_stats, CTL_C_ANY },
	{ "set", "VM|POOL KEY VALUE", 3, 3, NULL,
	  "change a setting (VM: mode iops_limit bw_limit cache_quota weight; pool: the pool-create options)",
	  cmd_set, CTL_C_ANY },
	{ "flush", "VM|POOL", 1, 1, o_wait,
	  "write back the dirty data of one VM device (others untouched) or of a pool",
	  cmd_flush, CTL_C_ANY },
	{ "migrate-prepare", "VM", 1, 1, o_wait,
	  "writethrough and flush before a live migration: state migrating, then clean",
	  cmd_migrate_prepare, CTL_C_VM },
	{ "migrate-abort", "VM", 1, 1, NULL,
	  "end a migration flush, restoring the mode in force before it",
	  cmd_migrate_abort, CTL_C_VM },
	{ "migrate-domain", "DOMAIN DEST_URI [VIRSH_MIGRATE_OPTION...]", 2, 2,
	  o_migrate_domain,
	  "flush the domain's vwcache disks, then virsh migrate; migrate-abort them if it fails",
	  cmd_migrate_domain, CTL_C_NONE },
	{ "invalidate", "VM", 1, 1, NULL,
	  "drop the VM's clean cached blocks (dirty ones stay): the origin changed behind the cache",
	  cmd_invalidate, CTL_C_VM },
	{ "migrate-plan", "[POOL]", 0, 1, o_plan,
	  "VMs ordered by estimated flush time (dirty bytes / measured writeback rate)",
	  cmd_migrate_plan, CTL_C_POOL },
	{ "top", "[POOL]", 0, 1, o_top,
	  "live per-VM table: IOPS, bandwidth, hit ratio, dirty, throttled",
	  cmd_top, CTL_C_POOL },
	{ "check", "CACHE_DEV", 1, 1, o_force,
	  "validate a pool's metadata offline (exit 0 clean, 1 damaged)",
	  cmd_check, CTL_C_DEV },
	{ "dump", "CACHE_DEV", 1, 1, o_dump,
	  "the vm_ids of a pool with their cached and dirty blocks, offline",
	  cmd_dump, CTL_C_DEV },
	{ "assemble", "", 0, 0, o_assemble,
	  "bring up the pools and VM devices of the config (or --from-pool: of a pool's records) that are not active (boot)",
	  cmd_assemble, CTL_C_NONE },
	{ "stop", "", 0, 0, o_stop,
	  "commit and remove the config's VM devices and pools, in reverse order (shutdown)",
	  cmd_stop, CTL_C_NONE },
	{ "check-origin", "DEV", 1, 1, NULL,
	  "is DEV the origin of orphaned dirty data in an active pool? (exit 0 no, 1 yes, 2 cannot tell)",
	  cmd_check_origin, CTL_C_DEV },
	{ "completion", "", 0, 0, NULL,
	  "print the bash completion script",
	  cmd_completion, CTL_C_NONE },
	{ "version", "", 0, 0, NULL, "print the version",
	  cmd_version, CTL_C_NONE },
	{ "help", "[COMMAND]", 0, 1, NULL, "show help, or a command's help",
	  cmd_help, CTL_C_CMD },
};

#define NR_COMMANDS	(sizeof(commands) / sizeof(commands[0]))

const struct ctl_cmd *ctl_find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage_line(FILE *f, const struct ctl_cmd *c)
{
	/* Its own options go before what it passes on. */
	if (ctl_cmd_passes_rest(c)) {
		fprintf(f, "dmcache-ctl %s%s %s", c->name,
			c->opts ? " [OPTIONS]" : "", c->args);
		return;
	}
	fprintf(f, "dmcache-ctl %s%s%s%s", c->name, *c->args ? " " : "",
		c->args, c->opts ? " [OPTIONS]" : "");
}

static void command_help(const struct ctl_cmd *c)
{
	const struct ctl_opt *o;

	fputs("usage: ", stdout);
	usage_line(stdout, c);
	printf("\n  %s\n", c->help);
	if (!c->opts)
		return;
	printf("options:\n");
	for (o = c->opts; o->name; o++) {
		char left[96];

		snprintf(left, sizeof(left), "%s%s%s", o->name,
			 o->metavar ? " " : "", o->metavar ? o->metavar : "");
		if (strlen(left) > 24)
			printf("  %s\n  %-24s %s\n", left, "", o->help);
		else
			printf("  %-24s %s\n", left, o->help);
	}
}

static int cmd_help(struct ctl_args *a)
{
	size_t i;

	if (a && a->argc == 1) {
		const struct ctl_cmd *c = ctl_find_command(a->argv[0]);

		if (!c)
			return ctl_usage("unknown command \"%s\"", a->argv[0]);
		command_help(c);
		return 0;
	}
	printf("usage: dmcache-ctl COMMAND [ARGS] [OPTIONS]\n\ncommands:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		printf("  %-16s %s\n", commands[i].name, commands[i].help);
	printf("\nSizes take K, M, G or T suffixes (powers of 1024).  VM is a VM device's\n"
	       "name or its vm_id.  'dmcache-ctl help COMMAND' shows a command's options.\n");
	return 0;
}

static int cmd_version(struct ctl_args *a)
{
	printf("dmcache-ctl %s\n", CTL_VERSION);
	return 0;
}

/* ---- bash completion, generated from the table ----------------------------------- */

static const char *complete_kind(enum ctl_complete c)
{
	switch (c) {
	case CTL_C_VM: return "vm";
	case CTL_C_POOL: return "pool";
	case CTL_C_ANY: return "all";
	case CTL_C_DEV: return "dev";
	case CTL_C_CMD: return "cmd";
	default: return "none";
	}
}

static void completion_case(const struct ctl_cmd *c)
{
	const struct ctl_opt *o;

	printf("\t%s)\n\t\topts=\"", c->name);
	for (o = c->opts; o && o->name; o++)
		printf("%s%s", o == c->opts ? "" : " ", o->name);
	printf("\"\n\t\tvalopts=\"");
	for (o = c->opts; o && o->name; o++)
		if (o->metavar)
			printf("%s ", o->name);
	printf("\"\n\t\tkind=%s\n", complete_kind(c->complete));
	for (o = c->opts; o && o->name; o++) {
		const char *m = o->metavar;
		char words[160], *p;

		if (m && (!strcmp(m, "FILE") || strstr(m, "DEV")))
			printf("\t\t[ \"$prev\" = %s ] && pathopt=1\n", o->name);
		if (!m || !strchr(m, '|'))
			continue;
		snprintf(words, sizeof(words), "%s", m);
		for (p = words; *p; p++)
			if (*p == '|')
				*p = ' ';
		printf("\t\t[ \"$prev\" = %s ] && choices=\"%s\"\n", o->name,
		       words);
	}
	printf("\t\t;;\n");
}

static int cmd_completion(struct ctl_args *a)
{
	size_t i;

	printf("# bash completion for dmcache-ctl, generated by 'dmcache-ctl completion'\n"
	       "_dmcache_ctl() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	       "\tlocal opts= valopts= kind=none choices= pathopt= i npos=0\n"
	       "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"");
	for (i = 0; i < NR_COMMANDS; i++)
		printf("%s%s", i ? " " : "", commands[i].name);
	printf("\" -- \"$cur\"))\n\t\treturn\n\tfi\n\tcase ${COMP_WORDS[1]} in\n");
	for (i = 0; i < NR_COMMANDS; i++)
		completion_case(&commands[i]);
	printf("\tesac\n"
	       "\tif [ -n \"$choices\" ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tif [ -n \"$pathopt\" ]; then\n"
	       "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tcase \" $valopts \" in *\" $prev \"*) [ -n \"$prev\" ] && return ;; esac\n"
	       "\tif [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	       "\t\treturn\n"
	       "\tfi\n"
	       "\tfor ((i = 2; i < COMP_CWORD; i++)); do\n"
	       "\t\tcase ${COMP_WORDS[i]} in -*) continue ;; esac\n"
	       "\t\tcase \" $valopts \" in *\" ${COMP_WORDS[i-1]} \"*) continue ;; esac\n"
	       "\t\tnpos=$((npos + 1))\n"
	       "\tdone\n"
	       "\t[ \"$npos\" -gt 0 ] && [ \"${COMP_WORDS[1]}\" = attach ] && [ \"$npos\" -eq 1 ] && kind=dev\n"
	       "\t[ \"$npos\" -gt 0 ] && [ \"$kind\" != dev ] && return\n"
	       "\tcase $kind in\n"
	       "\tvm | pool | all)\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$(dmcache-ctl list --names $kind 2>/dev/null)\" -- \"$cur\")) ;;\n"
	       "\tdev) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	       "\tcmd) COMPREPLY=($(compgen -W \"");
	for (i = 0; i < NR_COMMANDS; i++)
		printf("%s%s", i ? " " : "", commands[i].name);
	printf("\" -- \"$cur\")) ;;\n"
	       "\tesac\n"
	       "}\n"
	       "complete -F _dmcache_ctl dmcache-ctl\n");
	return 0;
}

/* "CMD --help" or "CMD -h" anywhere before "--". */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	struct ctl_args a;
	int r;

	if (argc < 2) {
		cmd_help(NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(NULL);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(NULL);
	c = ctl_find_command(argv[1]);
	if (!c)
		return ctl_usage("unknown command \"%s\" (see 'dmcache-ctl help')",
				 argv[1]);
	ctl_cmd_name = c->name;
	if (wants_help(argc - 2, argv + 2)) {
		command_help(c);
		return 0;
	}
	r = ctl_parse_cmdline(c, argc - 2, argv + 2, &a);
	if (r)
		return r;
	dm_init();
	r = c->run(&a);
	if (fflush(stdout) || ferror(stdout))
		return ctl_fail("cannot write the output");
	return r;
}
