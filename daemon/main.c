/* SPDX-License-Identifier: MIT */
/* vx11d: takes intents on a Unix socket and keeps every task durably. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "log.h"
#include "api/metrics-http.h"
#include "api/server.h"
#include "core/manager.h"

static void help(void)
{
	printf("Usage: vx11d [OPTIONS]\n"
	       "\n"
	       "Take intents (job requests) on a Unix socket speaking line-delimited\n"
	       "JSON-RPC 2.0 and keep every task in SQLite. Runs in the foreground.\n"
	       "\n"
	       "  -s, --socket PATH       listen on PATH (default %s/vx11.sock)\n"
	       "  -d, --state-dir DIR     database and logs in DIR (default %s)\n"
	       "      --database URL      the store: a PATH or sqlite:PATH (relative to the\n"
	       "                          state dir; default vx11.db), or postgresql://...\n"
	       "  -p, --policy FILE       policy file (default %s/policy.json if it\n"
	       "                          exists, else the bundled policy)\n"
	       "      --runtime-dir DIR   notify sockets and daughter.sock for daughters\n"
	       "                          (default: the directory of the socket, or\n"
	       "                          /run/vx11/INSTANCE when daughters cannot use it)\n"
	       "      --cgroup-root PATH  job cgroups under PATH/INSTANCE (default vx11, or\n"
	       "                          the delegated cgroup when started by systemd)\n"
	       "      --instance NAME     this daemon's name on the host (default: \"default\"\n"
	       "                          for the system state dir, else a hash of the state dir)\n"
	       "      --node NAME         the node recorded on every attempt this daemon runs\n"
	       "                          (default: the host name)\n"
	       "      --lease-seconds N   on a shared database (PostgreSQL), how long this node\n"
	       "                          stays alive for the fleet without renewing its lease\n"
	       "                          (2 to 300, default 15); ignored on SQLite\n"
	       "      --metrics-socket PATH  also serve the metrics (vx11ctl metrics) over\n"
	       "                          HTTP on the Unix socket PATH: GET /metrics\n"
	       "      --log-target T      auto, journal or stderr (default auto)\n"
	       "      --log-level L       err, warning, notice, info or debug (default info)\n"
	       "      --check-policy      validate the policy, print the result and exit\n"
	       "      --no-zygote         spawn every daughter directly, without a zygote\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n"
	       "\n"
	       "See vx11d(8), vx11-policy(5) and vx11-protocol(7).\n",
	       VX11_RUNSTATEDIR, VX11_STATEDIR, VX11_SYSCONFDIR);
}

static int parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = { { "err", LOG_ERR },	 { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		       { "info", LOG_INFO }, { "debug", LOG_DEBUG } };

	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		if (streq(s, levels[i].name))
			return levels[i].level;
	return -1;
}

int main(int argc, char *argv[])
{
	enum { ARG_LOG_TARGET = 0x100, ARG_LOG_LEVEL, ARG_CHECK_POLICY, ARG_VERSION, ARG_RUNTIME_DIR, ARG_CGROUP_ROOT,
	       ARG_METRICS_SOCKET, ARG_INSTANCE, ARG_NODE, ARG_DATABASE, ARG_NO_ZYGOTE, ARG_LEASE_SECONDS };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "database", required_argument, NULL, ARG_DATABASE },
		{ "policy", required_argument, NULL, 'p' },
		{ "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
		{ "cgroup-root", required_argument, NULL, ARG_CGROUP_ROOT },
		{ "instance", required_argument, NULL, ARG_INSTANCE },
		{ "node", required_argument, NULL, ARG_NODE },
		{ "lease-seconds", required_argument, NULL, ARG_LEASE_SECONDS },
		{ "metrics-socket", required_argument, NULL, ARG_METRICS_SOCKET },
		{ "log-target", required_argument, NULL, ARG_LOG_TARGET },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "check-policy", no_argument, NULL, ARG_CHECK_POLICY },
		{ "no-zygote", no_argument, NULL, ARG_NO_ZYGOTE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{}
	};
	ManagerConfig cfg = {
		.socket_path = VX11_RUNSTATEDIR "/vx11.sock",
		.state_dir = VX11_STATEDIR,
		.policy_path = VX11_SYSCONFDIR "/policy.json",
	};
	LogTarget target = LOG_TARGET_AUTO;
	bool check_policy = false;
	Manager *m = NULL;
	Server *s = NULL;
	MetricsHttp *mh = NULL;
	const char *metrics_socket = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:d:p:h", options, NULL)) >= 0)
		switch (c) {
		case 's':
			cfg.socket_path = optarg;
			break;
		case 'd':
			cfg.state_dir = optarg;
			break;
		case ARG_DATABASE:
			cfg.database = optarg; /* checked by manager_new(), before anything is made */
			break;
		case 'p':
			cfg.policy_path = optarg;
			cfg.policy_explicit = true;
			break;
		case ARG_RUNTIME_DIR:
			cfg.runtime_dir = optarg;
			break;
		case ARG_CGROUP_ROOT:
			cfg.cgroup_root = optarg;
			break;
		case ARG_INSTANCE:
			if (!instance_name_valid(optarg)) {
				fprintf(stderr, "vx11d: --instance: expected 1 to %d letters, digits, '_' or '-' (not first), "
					"not \"%s\"\n", INSTANCE_NAME_MAX, optarg);
				return 2;
			}
			cfg.instance = optarg;
			break;
		case ARG_NODE:
			if (!node_name_valid(optarg)) {
				fprintf(stderr, "vx11d: --node: expected 1 to %d letters, digits, '.', '_' or '-', not \"%s\"\n",
					NODE_NAME_MAX, optarg);
				return 2;
			}
			cfg.node = optarg;
			break;
		case ARG_LEASE_SECONDS: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v < LEASE_SECONDS_MIN ||
			    v > LEASE_SECONDS_MAX) {
				fprintf(stderr, "vx11d: --lease-seconds: expected a whole number of seconds from %d to %d, "
					"not \"%s\"\n", LEASE_SECONDS_MIN, LEASE_SECONDS_MAX, optarg);
				return 2;
			}
			cfg.lease_seconds = (unsigned)v;
			break;
		}
		case ARG_METRICS_SOCKET:
			if (optarg[0] != '/') {
				fprintf(stderr, "vx11d: --metrics-socket: expected an absolute path, not \"%s\"\n", optarg);
				return 2;
			}
			metrics_socket = optarg;
			break;
		case ARG_LOG_TARGET:
			if (log_target_from_string(optarg, &target) < 0) {
				fprintf(stderr, "vx11d: --log-target: expected auto, journal or stderr, not \"%s\"\n", optarg);
				return 2;
			}
			break;
		case ARG_LOG_LEVEL:
			if (parse_level(optarg) < 0) {
				fprintf(stderr, "vx11d: --log-level: expected err, warning, notice, info or debug\n");
				return 2;
			}
			log_set_max_level(parse_level(optarg));
			break;
		case ARG_CHECK_POLICY:
			check_policy = true;
			break;
		case ARG_NO_ZYGOTE:
			cfg.no_zygote = true;
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("vx11d %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "vx11d: see 'vx11d --help'\n");
			return 2;
		}
	if (optind < argc) {
		fprintf(stderr, "vx11d: unexpected argument \"%s\"; see 'vx11d --help'\n", argv[optind]);
		return 2;
	}

	if (check_policy) {
		_cleanup_free_ char *error = NULL;
		Policy *p = NULL;
		bool file = cfg.policy_explicit || access(cfg.policy_path, F_OK) == 0;

		r = file ? policy_load_file(cfg.policy_path, &p, &error) : policy_load_bundled(&p, &error);
		if (r < 0) {
			fprintf(stderr, "vx11d: %s\n", error ? error : "invalid policy");
			return 1;
		}
		printf("%s: valid, mode %s, %zu task types\n", p->origin,
		       p->mode == POLICY_MODE_SWITCH ? "switch" : "solo_madre", p->n_tasks);
		/* Allowed (a fresh machine before systemd-sysusers), but worth saying. */
		if (!p->admin_gid_valid)
			printf("note: admin_group \"%s\" does not exist on this host: only root is an admin\n",
			       p->admin_group);
		policy_free(p);
		return 0;
	}

	/* A log reader that goes away must not take the daemon with it. */
	signal(SIGPIPE, SIG_IGN);
	/* The event loop parses every request line: no locale made per parse. */
	json_parse_locale_init();
	log_setup(target);
	/* Lines go out once per loop iteration (see manager.c), not one write each. */
	if (!log_to_journal())
		setvbuf(stderr, NULL, _IOFBF, 1 << 16);
	/* The layers bottom up: the manager (store, policy, runner; reconciled
	 * before anyone can ask), then the API on top of it. */
	r = manager_new(&cfg, &m);
	if (r < 0)
		return 1;
	r = server_new(m, m->socket_path, &s);
	if (r >= 0 && metrics_socket)
		r = metrics_http_new(m, metrics_socket, &mh);
	if (r >= 0) {
		r = manager_run(m, s->path ? s->path : "(from the service manager)");
		/* Daughters are stopped while the API still hears of it. */
		manager_stop(m);
	}
	metrics_http_free(mh);
	server_free(s);
	manager_free(m);
	return r < 0 ? 1 : 0;
}
