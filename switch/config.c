/* SPDX-License-Identifier: MIT */
/*
 * Every value is checked for its type and range where it is read, and every
 * object for keys it does not know, so a typo is an error naming its key
 * path, never a default silently kept. References between sections (a
 * subtask rule's provider) are checked once all providers are read.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "config.h"
#include "json-strict.h"

#define CONFIG_MAX_BYTES (4u * 1024 * 1024)
#define CONFIG_MAX_DEPTH 32
#define NAME_MAX_LEN 64

_printf_(3, 4) static int cfg_fail(char **error, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	free(*error);
	*error = NULL;
	if (k < 0)
		return -ENOMEM;
	if (!path || !*path)
		*error = TAKE_PTR(msg);
	else if (asprintf(error, "%s: %s", path, msg) < 0) {
		*error = NULL;
		return -ENOMEM;
	}
	return -EINVAL;
}

static char *path_key(const char *parent, const char *key)
{
	char *s;

	if (asprintf(&s, "%s%s%s", parent, *parent ? "." : "", key) < 0)
		return NULL;
	return s;
}

static char *path_index(const char *parent, size_t i)
{
	char *s;

	if (asprintf(&s, "%s[%zu]", parent, i) < 0)
		return NULL;
	return s;
}

/* "unknown key (known: a, b, c)": the fix is usually one of them. */
static int unknown_key(char **error, const char *path, const char *const *known)
{
	char list[512] = "";
	size_t l = 0;

	for (; *known && l < sizeof(list); known++)
		l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", *known);
	return cfg_fail(error, path, "unknown key (known: %s)", list);
}

static int get_string(json_object *v, const char *path, char **ret, char **error)
{
	char *s;

	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(error, path, "expected a string");
	if (json_object_get_string_len(v) == 0)
		return cfg_fail(error, path, "must not be empty");
	s = strdup(json_object_get_string(v));
	if (!s)
		return -ENOMEM;
	free(*ret);
	*ret = s;
	return 0;
}

static int get_uint(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret, char **error)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return cfg_fail(error, path, "expected an integer");
	/* json-c saturates what does not fit in 64 bits; the range check catches it. */
	i = json_object_get_int64(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return cfg_fail(error, path, "must be between %" PRIu64 " and %" PRIu64, min, max);
	*ret = (uint64_t)i;
	return 0;
}

/* Provider names travel in answers and log lines: keep them plain. */
static bool name_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= NAME_MAX_LEN && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int parse_limits(SwitchLimits *l, json_object *o, const char *path, char **error)
{
	static const char *const known[] = { "max_line_bytes", "max_connections", "max_pending_requests",
					     "max_subtasks", "max_output_bytes", NULL };
	uint64_t u;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(error, path, "expected an object");
	json_object_object_foreach(o, key, v)
	{
		_cleanup_free_ char *p = path_key(path, key);
		if (!p)
			return -ENOMEM;
		if (streq(key, "max_line_bytes")) {
			r = get_uint(v, p, 1024, 64 * 1024 * 1024, &u, error);
			l->max_line_bytes = (size_t)u;
		} else if (streq(key, "max_connections")) {
			r = get_uint(v, p, 1, 65536, &u, error);
			l->max_connections = (unsigned)u;
		} else if (streq(key, "max_pending_requests")) {
			r = get_uint(v, p, 1, 65536, &u, error);
			l->max_pending = (unsigned)u;
		} else if (streq(key, "max_subtasks")) {
			r = get_uint(v, p, 1, 4096, &u, error);
			l->max_subtasks = (unsigned)u;
		} else if (streq(key, "max_output_bytes")) {
			r = get_uint(v, p, 1024, 64 * 1024 * 1024, &u, error);
			l->max_output_bytes = (size_t)u;
		} else
			r = unknown_key(error, p, known);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A route of routes[] (with match keys) or the default route (without). */
static int parse_route(Route *rt, json_object *o, const char *path, bool is_default, char **error)
{
	static const char *const known_rule[] = { "name",     "intent_type", "text",  "provider", "approach",
						  "model",    "score",	     "task_type", "steps", "response", NULL };
	/* The same keys but the match keys (name, intent_type, text). */
	const char *const *known = is_default ? known_rule + 3 : known_rule;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(error, path, "expected an object");
	json_object_object_foreach(o, key, v)
	{
		_cleanup_free_ char *p = path_key(path, key);
		if (!p)
			return -ENOMEM;
		if (!is_default && streq(key, "name"))
			r = get_string(v, p, &rt->name, error);
		else if (!is_default && streq(key, "intent_type"))
			r = get_string(v, p, &rt->intent_type, error);
		else if (!is_default && streq(key, "text")) {
			r = get_string(v, p, &rt->text, error);
			if (r >= 0) {
				/* REG_NOSUB: only whether it matches counts. */
				int k = regcomp(&rt->text_re, rt->text, REG_EXTENDED | REG_NOSUB);
				if (k != 0) {
					char why[256];
					regerror(k, NULL, why, sizeof(why));
					free(rt->text);
					rt->text = NULL; /* nothing compiled to free */
					r = cfg_fail(error, p, "invalid regular expression: %s", why);
				}
			}
		} else if (streq(key, "provider"))
			r = get_string(v, p, &rt->provider, error);
		else if (streq(key, "approach"))
			r = get_string(v, p, &rt->approach, error);
		else if (streq(key, "model"))
			r = get_string(v, p, &rt->model, error);
		else if (streq(key, "task_type"))
			r = get_string(v, p, &rt->task_type, error);
		else if (streq(key, "score")) {
			double d = json_object_get_double(v);
			if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
				r = cfg_fail(error, p, "expected a number");
			else if (!(d >= 0.0 && d <= 1.0))
				r = cfg_fail(error, p, "must be between 0 and 1");
			else {
				/* Kept as written: 0.82 is sent back as 0.82, not 0.81999999999999995. */
				rt->score = json_object_get(v);
				r = 0;
			}
		} else if (streq(key, "steps")) {
			r = json_object_is_type(v, json_type_array) ? 0 : cfg_fail(error, p, "expected an array");
			if (r >= 0)
				rt->steps = json_object_get(v);
		} else if (streq(key, "response")) {
			r = json_object_is_type(v, json_type_object) ? 0 : cfg_fail(error, p, "expected an object");
			if (r >= 0)
				rt->response = json_object_get(v);
		} else
			r = unknown_key(error, p, known);
		if (r < 0)
			return r;
	}
	if (!is_default && !rt->intent_type)
		return cfg_fail(error, path, "missing \"intent_type\" (\"*\" matches every intent)");
	if (!rt->provider)
		return cfg_fail(error, path, "missing \"provider\"");
	if (!rt->approach)
		return cfg_fail(error, path, "missing \"approach\"");
	return 0;
}

static int parse_routes(SwitchConfig *c, json_object *a, const char *path, char **error)
{
	size_t n;
	int r;

	if (!json_object_is_type(a, json_type_array))
		return cfg_fail(error, path, "expected an array");
	n = json_object_array_length(a);
	c->routes = calloc(MAX(n, 1u), sizeof(Route));
	if (!c->routes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = path_index(path, i);
		if (!p)
			return -ENOMEM;
		c->n_routes = i + 1; /* freed from here on, parsed or not */
		r = parse_route(&c->routes[i], json_object_array_get_idx(a, i), p, false, error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_argv(Provider *pr, json_object *a, const char *path, char **error)
{
	size_t n;

	if (!json_object_is_type(a, json_type_array))
		return cfg_fail(error, path, "expected an array of strings (the command and its arguments)");
	n = json_object_array_length(a);
	if (n == 0)
		return cfg_fail(error, path, "must name a command");
	pr->argv = calloc(n + 1, sizeof(char *));
	if (!pr->argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		_cleanup_free_ char *p = path_index(path, i);
		if (!p)
			return -ENOMEM;
		if (!json_object_is_type(v, json_type_string))
			return cfg_fail(error, p, "expected a string");
		pr->argv[i] = strdup(json_object_get_string(v));
		if (!pr->argv[i])
			return -ENOMEM;
	}
	/* A relative path would depend on the switch's working directory. */
	if (pr->argv[0][0] == 0 || (pr->argv[0][0] != '/' && strchr(pr->argv[0], '/'))) {
		_cleanup_free_ char *p = path_index(path, 0);
		return cfg_fail(error, p ? p : path, "must be an absolute path or a command name found in $PATH");
	}
	return 0;
}

static int parse_provider(Provider *pr, const char *name, json_object *o, const char *path, char **error)
{
	static const char *const known[] = { "argv", "timeout_ms", "model", NULL };
	int r;

	if (!name_is_valid(name))
		return cfg_fail(error, path, "a provider name is 1 to %d letters, digits, '.', '_' or '-'", NAME_MAX_LEN);
	pr->name = strdup(name);
	if (!pr->name)
		return -ENOMEM;
	pr->timeout_ms = 30000;
	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(error, path, "expected an object");
	json_object_object_foreach(o, key, v)
	{
		_cleanup_free_ char *p = path_key(path, key);
		if (!p)
			return -ENOMEM;
		if (streq(key, "argv"))
			r = parse_argv(pr, v, p, error);
		else if (streq(key, "timeout_ms"))
			r = get_uint(v, p, 1, 24 * 3600 * 1000, &pr->timeout_ms, error);
		else if (streq(key, "model"))
			r = get_string(v, p, &pr->model, error);
		else
			r = unknown_key(error, p, known);
		if (r < 0)
			return r;
	}
	if (!pr->argv)
		return cfg_fail(error, path, "missing \"argv\"");
	return 0;
}

static int parse_providers(SwitchConfig *c, json_object *o, const char *path, char **error)
{
	int r;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(error, path, "expected an object (provider name -> {\"argv\": [...], \"timeout_ms\": N})");
	c->providers = calloc(MAX((size_t)json_object_object_length(o), 1u), sizeof(Provider));
	if (!c->providers)
		return -ENOMEM;
	json_object_object_foreach(o, key, v)
	{
		_cleanup_free_ char *p = path_key(path, key);
		if (!p)
			return -ENOMEM;
		r = parse_provider(&c->providers[c->n_providers++], key, v, p, error);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "no such provider "x" (providers: a, b)" */
static int resolve_provider(const SwitchConfig *c, json_object *v, const char *path, const Provider **ret,
			    char **error)
{
	char list[512] = "";
	size_t l = 0;

	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(error, path, "expected a string (a name in providers)");
	*ret = switch_config_find_provider(c, json_object_get_string(v));
	if (*ret)
		return 0;
	for (size_t i = 0; i < c->n_providers && l < sizeof(list); i++)
		l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", c->providers[i].name);
	return cfg_fail(error, path, "no such provider \"%s\" (providers: %s)", json_object_get_string(v),
			c->n_providers ? list : "none");
}

static int parse_subtasks(SwitchConfig *c, json_object *a, const char *path, char **error)
{
	static const char *const known[] = { "subtask_type", "provider", NULL };
	size_t n;
	int r;

	if (!json_object_is_type(a, json_type_array))
		return cfg_fail(error, path, "expected an array");
	n = json_object_array_length(a);
	c->subtasks = calloc(MAX(n, 1u), sizeof(SubtaskRule));
	if (!c->subtasks)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		SubtaskRule *rule = &c->subtasks[c->n_subtasks++];
		_cleanup_free_ char *rp = path_index(path, i);
		bool have_provider = false;
		if (!rp)
			return -ENOMEM;
		if (!json_object_is_type(o, json_type_object))
			return cfg_fail(error, rp, "expected an object");
		json_object_object_foreach(o, key, v)
		{
			_cleanup_free_ char *p = path_key(rp, key);
			if (!p)
				return -ENOMEM;
			if (streq(key, "subtask_type"))
				r = get_string(v, p, &rule->subtask_type, error);
			else if (streq(key, "provider")) {
				r = resolve_provider(c, v, p, &rule->provider, error);
				have_provider = true;
			} else
				r = unknown_key(error, p, known);
			if (r < 0)
				return r;
		}
		if (!rule->subtask_type)
			return cfg_fail(error, rp, "missing \"subtask_type\" (\"*\" matches every type)");
		if (!have_provider)
			return cfg_fail(error, rp, "missing \"provider\"");
	}
	return 0;
}

static int parse_root(SwitchConfig *c, json_object *root, char **error)
{
	static const char *const known[] = { "socket",	 "limits",   "routes",		 "default_route",
					     "providers", "subtasks", "default_provider", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return cfg_fail(error, NULL, "expected a JSON object at the top level");
	json_object_object_foreach(root, key, val)
	{
		(void)val;
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok = ok || streq(key, known[i]);
		if (!ok)
			return unknown_key(error, key, known);
	}

	/* In dependency order: subtask rules name providers. */
	if (json_object_object_get_ex(root, "socket", &v)) {
		r = get_string(v, "socket", &c->socket, error);
		if (r < 0)
			return r;
		if (c->socket[0] != '/')
			return cfg_fail(error, "socket", "must be an absolute path");
		if (strlen(c->socket) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
			return cfg_fail(error, "socket", "too long for a Unix socket (at most %zu bytes)",
					sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	}
	if (json_object_object_get_ex(root, "limits", &v) && (r = parse_limits(&c->limits, v, "limits", error)) < 0)
		return r;
	if (json_object_object_get_ex(root, "routes", &v) && (r = parse_routes(c, v, "routes", error)) < 0)
		return r;
	if (!json_object_object_get_ex(root, "default_route", &v))
		return cfg_fail(error, NULL, "missing \"default_route\" (the plan when no route matches)");
	r = parse_route(&c->default_route, v, "default_route", true, error);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(root, "providers", &v) && (r = parse_providers(c, v, "providers", error)) < 0)
		return r;
	if (json_object_object_get_ex(root, "subtasks", &v) && (r = parse_subtasks(c, v, "subtasks", error)) < 0)
		return r;
	if (json_object_object_get_ex(root, "default_provider", &v) &&
	    (r = resolve_provider(c, v, "default_provider", &c->default_provider, error)) < 0)
		return r;
	return 0;
}

int switch_config_parse(const char *text, size_t len, SwitchConfig **ret, char **error)
{
	_cleanup_config_ SwitchConfig *c = NULL;
	_cleanup_json_ json_object *root = NULL;
	JsonProblem problem;
	int r;

	*error = NULL;
	r = json_parse_strict(text, len, CONFIG_MAX_DEPTH, true, &root, &problem);
	if (r == -EINVAL) {
		unsigned line, column;
		json_offset_position(text, problem.offset, &line, &column);
		return cfg_fail(error, NULL, "line %u, column %u: %s", line, column, problem.message);
	}
	if (r < 0)
		return r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->limits = (SwitchLimits){
		.max_line_bytes = 1024 * 1024,
		.max_connections = 1024,
		.max_pending = 256,
		.max_subtasks = 64,
		.max_output_bytes = 1024 * 1024,
	};
	r = parse_root(c, root, error);
	if (r == -ENOMEM && !*error)
		*error = strdup("out of memory");
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int switch_config_load(const char *path, SwitchConfig **ret, char **error)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL, *why = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	*error = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
			*error = NULL;
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		if (asprintf(error, "%s: not a regular file", path) < 0)
			*error = NULL;
		return -EINVAL;
	}
	buf = malloc(CONFIG_MAX_BYTES + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
				*error = NULL;
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_BYTES) {
			if (asprintf(error, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES) < 0)
				*error = NULL;
			return -EFBIG;
		}
	}
	buf[len] = 0;

	r = switch_config_parse(buf, len, ret, &why);
	if (r < 0 && asprintf(error, "%s: %s", path, why ? why : strerror(-r)) < 0)
		*error = NULL;
	return r;
}

static void route_done(Route *r)
{
	free(r->name);
	free(r->intent_type);
	if (r->text)
		regfree(&r->text_re);
	free(r->text);
	free(r->provider);
	free(r->approach);
	free(r->model);
	free(r->task_type);
	json_object_put(r->score);
	json_object_put(r->steps);
	json_object_put(r->response);
}

SwitchConfig *switch_config_free(SwitchConfig *c)
{
	if (!c)
		return NULL;
	free(c->socket);
	for (size_t i = 0; i < c->n_routes; i++)
		route_done(&c->routes[i]);
	free(c->routes);
	route_done(&c->default_route);
	for (size_t i = 0; i < c->n_providers; i++) {
		Provider *p = &c->providers[i];
		free(p->name);
		for (char **a = p->argv; a && *a; a++)
			free(*a);
		free(p->argv);
		free(p->model);
	}
	free(c->providers);
	for (size_t i = 0; i < c->n_subtasks; i++)
		free(c->subtasks[i].subtask_type);
	free(c->subtasks);
	free(c);
	return NULL;
}

const Provider *switch_config_find_provider(const SwitchConfig *c, const char *name)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (streq(c->providers[i].name, name))
			return &c->providers[i];
	return NULL;
}
