/* SPDX-License-Identifier: MIT */
/*
 * vx11-switch: the reference switch of switch.md. vx11d asks it for plans
 * (switch.plan) and, for its daughters, runs sub-tasks through it
 * (switch.subtask). Options, the configuration, signals, then the loop.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "log.h"
#include "server.h"

#ifndef VX11_SWITCH_EXAMPLE
#define VX11_SWITCH_EXAMPLE "/usr/share/vx11d/switch/example.json"
#endif

typedef struct Options {
	const char *config;       /* NULL: the default, see default_config() */
	const char *socket;       /* or NULL: the configuration's, else the default */
	const char *check_config; /* --check-config FILE */
	LogTarget log_target;
	int log_level;
} Options;

static void help(void)
{
	printf("Usage: vx11-switch [OPTIONS]\n"
	       "       vx11-switch --check-config FILE\n"
	       "\n"
	       "The switch vx11d consults for plans (switch.plan) and through which its\n"
	       "daughters run sub-tasks (switch.subtask): line-delimited JSON-RPC 2.0 on a\n"
	       "Unix socket. Runs in the foreground.\n"
	       "\n"
	       "  -c, --config FILE       configuration (default %s/switch.json if it\n"
	       "                          exists, else %s)\n"
	       "  -s, --socket PATH       listen on PATH (default: the configuration's socket,\n"
	       "                          else %s)\n"
	       "      --check-config FILE validate FILE, print the result and exit\n"
	       "      --log-target T      auto, journal or stderr (default auto)\n"
	       "      --log-level L       err, warning, notice, info or debug (default info)\n"
	       "  -h, --help              show this help\n"
	       "      --version           show the version\n"
	       "\n"
	       "SIGHUP re-reads the configuration. See vx11-switch(8).\n",
	       VX11_SYSCONFDIR, VX11_SWITCH_EXAMPLE, SWITCH_DEFAULT_SOCKET);
}

/* 0: go on; 1: done, exit 0; < 0: usage error, exit 2. */
static int parse_options(int argc, char **argv, Options *o)
{
	enum { ARG_CHECK = 0x100, ARG_LOG_TARGET, ARG_LOG_LEVEL, ARG_VERSION };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "check-config", required_argument, NULL, ARG_CHECK },
		{ "log-target", required_argument, NULL, ARG_LOG_TARGET },
		{ "log-level", required_argument, NULL, ARG_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) >= 0)
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case ARG_CHECK:
			o->check_config = optarg;
			break;
		case ARG_LOG_TARGET:
			if (log_target_from_string(optarg, &o->log_target) < 0) {
				fprintf(stderr, "vx11-switch: --log-target: auto, journal or stderr, not \"%s\"\n", optarg);
				return -EINVAL;
			}
			break;
		case ARG_LOG_LEVEL:
			if (log_level_from_string(optarg, &o->log_level) < 0) {
				fprintf(stderr, "vx11-switch: --log-level: err, warning, notice, info or debug, not \"%s\"\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			help();
			return 1;
		case ARG_VERSION:
			printf("vx11-switch %s\n", PACKAGE_VERSION);
			return 1;
		default:
			fprintf(stderr, "Try 'vx11-switch --help'.\n");
			return -EINVAL;
		}
	if (optind < argc) {
		fprintf(stderr, "vx11-switch: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (o->check_config && o->config) {
		fprintf(stderr, "vx11-switch: --check-config names its file; leave out --config\n");
		return -EINVAL;
	}
	return 0;
}

/* The administrator's file when there is one, else the packaged example
 * (its one provider is a harmless echo): a fresh install serves at once. */
static const char *default_config(void)
{
	if (access(VX11_SYSCONFDIR "/switch.json", F_OK) == 0)
		return VX11_SYSCONFDIR "/switch.json";
	log_notice("no %s: using the example configuration %s", VX11_SYSCONFDIR "/switch.json", VX11_SWITCH_EXAMPLE);
	return VX11_SWITCH_EXAMPLE;
}

/* Whether a provider's program is there, for --check-config's notes: it may
 * be installed after the configuration, so this is not an error. */
static bool program_exists(const char *name)
{
	const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	while (*path) {
		size_t n = strcspn(path, ":");
		_cleanup_free_ char *full = NULL;
		if (asprintf(&full, "%.*s/%s", (int)n, path, name) >= 0 && access(full, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static int check_config(const char *path)
{
	_cleanup_config_ SwitchConfig *c = NULL;
	_cleanup_free_ char *error = NULL;

	if (switch_config_load(path, &c, &error) < 0) {
		fprintf(stderr, "%s\n", error ?: "out of memory");
		return EXIT_FAILURE;
	}
	printf("%s: valid, %zu route%s and the default, %zu provider%s, %zu subtask rule%s, default provider %s\n",
	       path, c->n_routes, c->n_routes == 1 ? "" : "s", c->n_providers, c->n_providers == 1 ? "" : "s",
	       c->n_subtasks, c->n_subtasks == 1 ? "" : "s", c->default_provider ? c->default_provider->name : "none");
	for (size_t i = 0; i < c->n_providers; i++)
		if (!program_exists(c->providers[i].argv[0]))
			printf("note: providers.%s.argv[0]: %s is not an executable here\n", c->providers[i].name,
			       c->providers[i].argv[0]);
	return EXIT_SUCCESS;
}

typedef struct Main {
	Server *server;
	const char *config_option; /* --config, or NULL: the default, looked for again at each reload */
	const char *config_path;   /* the file read last */
	const char *socket_option; /* --socket, or NULL */
} Main;

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Main *m = userdata;
	SwitchConfig *c = NULL;
	_cleanup_free_ char *error = NULL;

	const char *path;

	(void)sd_notify(false, "RELOADING=1");
	/* Started on the example, the administrator's new file is taken now. */
	path = m->config_option ?: default_config();
	if (switch_config_load(path, &c, &error) < 0)
		log_error("configuration not reloaded, the previous one stays: %s", error ?: "out of memory");
	else {
		/* The socket is the one thing a reload cannot change; systemd's
		 * (no bound_path) and --socket's do not come from the file. */
		const char *want = c->socket ?: SWITCH_DEFAULT_SOCKET;
		if (m->server->bound_path && !m->socket_option && !streq(want, m->server->bound_path))
			log_warning("the socket %s takes a restart; still serving on %s", want, m->server->bound_path);
		server_set_config(m->server, c);
		m->config_path = path;
		log_info("configuration reloaded from %s", path);
	}
	(void)sd_notify(false, "READY=1");
	return 0;
}

/* A provider must find fds 0, 1, 2 where it expects them: if the switch was
 * started without some, /dev/null takes their place before any pipe can. */
static void fix_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			_exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	Options o = { .log_target = LOG_TARGET_AUTO, .log_level = LOG_INFO };
	_cleanup_free_ char *error = NULL;
	SwitchConfig *config = NULL;
	sd_event *e = NULL;
	Main m = { 0 };
	sigset_t mask;
	int r;

	fix_std_fds();
	r = parse_options(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : 2;
	if (o.check_config)
		return check_config(o.check_config);
	log_setup(o.log_target, o.log_level);

	m.config_option = o.config;
	m.socket_option = o.socket;
	m.config_path = o.config ?: default_config();
	if (switch_config_load(m.config_path, &config, &error) < 0) {
		log_error("%s", error ?: "out of memory");
		return EXIT_FAILURE;
	}

	/* sd-event takes these as events (SIGCHLD for the providers); a
	 * provider gets them back at default (provider.c). */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&e);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(e, NULL, SIGHUP, on_sighup, &m);
	if (r >= 0)
		/* Under a unit with WatchdogSec=, a stuck loop gets restarted. */
		r = sd_event_set_watchdog(e, true);
	if (r < 0) {
		log_error_errno(r, "cannot set up the event loop: %m");
		switch_config_free(config);
		sd_event_unref(e);
		return EXIT_FAILURE;
	}

	r = server_new(e, config, o.socket ?: config->socket ?: SWITCH_DEFAULT_SOCKET, &m.server);
	if (r < 0) {
		sd_event_unref(e);
		return EXIT_FAILURE;
	}
	log_info("vx11-switch %s started: %zu route%s and the default, %zu provider%s, configuration %s",
		 PACKAGE_VERSION, m.server->config->n_routes, m.server->config->n_routes == 1 ? "" : "s",
		 m.server->config->n_providers, m.server->config->n_providers == 1 ? "" : "s", m.config_path);
	(void)sd_notify(false, "READY=1");

	r = sd_event_loop(e);
	(void)sd_notify(false, "STOPPING=1");
	if (r < 0)
		log_error_errno(r, "event loop failed: %m");
	else
		log_info("stopping");
	server_free(m.server);
	sd_event_unref(e);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
