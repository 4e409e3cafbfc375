/* SPDX-License-Identifier: MIT */
/*
 * The policy file (see ../shared/spec/policy.md and man/vx11-policy.5): parsed
 * and fully validated at load into plain structs. An invalid file is refused
 * with one message naming the key path; the caller keeps its old policy.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Compiled seccomp filters; see seccomp-profile.h. */
typedef struct SeccompProgram SeccompProgram;

typedef enum PolicyMode {
	POLICY_MODE_SOLO_MADRE,
	POLICY_MODE_SWITCH,
} PolicyMode;

typedef enum PolicySourceId {
	SOURCE_SHUB,
	SOURCE_OPERATOR,
	SOURCE_MADRE,
	SOURCE_HIJAS,
	_SOURCE_MAX,
	_SOURCE_INVALID = -1,
} PolicySourceId;
const char *policy_source_to_string(PolicySourceId s);
PolicySourceId policy_source_from_string(const char *s);

/* A list of groups resolved to gids at load. Unknown group names are an error. */
typedef struct PolicyGroups {
	bool set;      /* false: the key was absent (anyone may) */
	gid_t *gids;
	size_t n;
} PolicyGroups;

#define POLICY_PORTS_MAX 16

/* Resource limits of a task; UINT64_MAX / -1 mean "not set". */
typedef struct PolicyLimits {
	uint64_t memory_max;  /* bytes */
	int64_t pids_max;
	uint32_t cpu_max;     /* percent of one CPU, 0 = not set */
	int64_t nofile;
	uint64_t fsize;       /* bytes */
	uint64_t core;        /* bytes; default 0 */
	int64_t cpu_seconds;  /* RLIMIT_CPU */
} PolicyLimits;

typedef enum PolicyEnforce {
	ENFORCE_STRICT,
	ENFORCE_BEST_EFFORT,
} PolicyEnforce;

/* One task type, with the defaults already applied. */
typedef struct PolicyTask {
	char *name;
	char **command;         /* NULL-terminated argv, absolute path first; NULL when command_caller */
	/* "command": "caller": the caller gives the argv with each intent
	 * (intent.submit's argv, vx11ctl run); confined like any other. */
	bool command_caller;
	/* The longest TTL a caller may ask for (ttl_seconds, payload.ttl);
	 * 0: up to the protocol's bound. The policy's own ttl_seconds and its
	 * mutations may be longer: this bounds callers, not the administrator. */
	int64_t max_ttl_seconds;
	PolicyGroups groups;
	char *user;             /* NULL: "dynamic"; else a user name that existed at load, or "caller" */
	bool user_caller;       /* "user": "caller": the submitter's own uid (never root) */
	int64_t ttl_seconds;
	int64_t heartbeat_seconds; /* 0 = none */
	int64_t max_retries;
	int64_t grace_seconds;
	double backoff_base_seconds;
	double backoff_max_seconds;
	PolicyLimits limits;
	char *seccomp;          /* "default", "strict", "none", or an absolute path */
	/* That profile compiled at load, shared with every task and level naming
	 * it and owned by the Policy; NULL for "none". */
	const SeccompProgram *seccomp_program;
	uint64_t output_max;    /* bytes of stdout, and as many of stderr, kept per attempt */
	bool network;           /* false: loopback-only network namespace */
	bool private_network;   /* "network": "none": a namespace of its own, loopback only */
	bool hide_processes;    /* /proc shows only its own uid's processes */
	/* "filesystem": a Landlock allow-list of absolute paths (set: the key was
	 * given; each list NULL-terminated, possibly NULL when empty). */
	struct {
		bool set;
		char **read, **write, **exec;
	} fs;
	/* "tcp": the TCP ports it may bind and connect to (Landlock ABI 4);
	 * set: the key was given, and every other port is denied. */
	struct {
		bool set;
		uint16_t bind[POLICY_PORTS_MAX], connect[POLICY_PORTS_MAX];
		uint8_t n_bind, n_connect;
	} tcp;
	/* "scope": Landlock ABI 6 scoping to its own domain. */
	bool scope_abstract_unix, scope_signal;
	bool private_tmp;
	bool read_only_system;
	PolicyEnforce enforce;
	/* mutations[i] is the whole task as seen at mutation level i + 1 (the
	 * overrides already applied on top of this task). */
	struct PolicyTask *mutations;
	size_t n_mutations;
} PolicyTask;

/* The statuses of a finished task, as "retention" names them. */
typedef enum PolicyRetainStatus {
	POLICY_RETAIN_COMPLETED,
	POLICY_RETAIN_FAILED,
	POLICY_RETAIN_EXPIRED,
	POLICY_RETAIN_CANCELLED,
	_POLICY_RETAIN_MAX,
} PolicyRetainStatus;
extern const char *const policy_retain_status_names[_POLICY_RETAIN_MAX];

typedef struct PolicyRetention {
	int64_t max_age_seconds; /* older (since it ended, or was made) goes; -1: no bound */
	int64_t max_count;       /* beyond the newest N goes; -1: no bound */
} PolicyRetention;

typedef struct Policy {
	char *origin;             /* file path, or "(bundled)" */
	PolicyMode mode;
	char *admin_group;
	bool admin_gid_valid;
	gid_t admin_gid;
	struct {
		uint64_t max_line_bytes;
		uint64_t max_connections;
		uint64_t max_connections_per_uid;
		uint64_t max_queued;
		uint64_t max_running;     /* default: the number of CPUs */
		uint64_t max_output_bytes; /* per connection, unread replies + events */
		/* Against clients that hold the daemon's memory or its slots: */
		uint64_t line_timeout_seconds;       /* a started line must end in time */
		uint64_t idle_timeout_seconds;       /* 0: an idle connection stays */
		uint64_t max_pending_line_bytes;     /* unfinished lines, all connections */
		uint64_t admin_reserved_connections; /* beyond both caps, for admins only */
	} limits;
	/* The uids (and gids) of "dynamic" users; no user or group had one at load. */
	struct {
		uid_t first, last;
	} dynamic_uids;
	struct {
		int priority;
		PolicyGroups groups;
	} sources[_SOURCE_MAX];
	struct {
		int64_t ttl_seconds;
		int64_t heartbeat_seconds;
		int64_t max_retries;
		double backoff_base_seconds;
		double backoff_max_seconds;
		int64_t grace_seconds;
		uint64_t output_max;
	} defaults;
	/* "switch": where the planning service listens and how long it is
	 * trusted (switch.md); read whatever the mode, used only in "switch". */
	struct {
		char *socket;               /* absolute, fits in sun_path */
		uint64_t timeout_ms;        /* the longest wait for one answer */
		uint64_t failure_threshold; /* consecutive failures that open the breaker */
		uint64_t cooldown_seconds;  /* how long an open breaker stays open */
	} switch_;
	/* "retention": how long finished tasks (per status) and audit rows are
	 * kept; -1: no bound of that kind. Nothing bounded: nothing is removed. */
	struct {
		uint64_t interval_seconds; /* how often the daemon looks */
		PolicyRetention tasks[_POLICY_RETAIN_MAX];
		PolicyRetention audit;
	} retention;
	PolicyTask *tasks;
	size_t n_tasks;
	/* Every distinct profile the tasks name, compiled once per load. */
	SeccompProgram **seccomp_programs;
	size_t n_seccomp_programs;
} Policy;

/*
 * Parse and validate. On failure returns a negative errno and, in
 * *ret_error, a malloc'd message naming the key path, e.g.
 * "tasks.analysis.limits.memory_max: expected a size like \"256M\"".
 * Every seccomp profile named is compiled here, so a bad one refuses the load.
 */
int policy_load_string(const char *json, const char *origin, Policy **ret, char **ret_error);
int policy_load_file(const char *path, Policy **ret, char **ret_error);
/* The policy built into the binary (policy/default.json). */
int policy_load_bundled(Policy **ret, char **ret_error);
extern const char vx11_default_policy_json[];
/* The program of a valid profile name ("none": NULL), compiled on its first
 * use in p and owned by p; errors name `path` as the key. */
int policy_seccomp_resolve(Policy *p, const char *name, const char *path, const SeccompProgram **ret,
			   char **error);

/* The shipped seccomp profiles policy/seccomp/{default,strict}.json, built in
 * so that "default" and "strict" resolve with nothing installed. */
extern const char vx11_seccomp_default_json[];
extern const char vx11_seccomp_strict_json[];

Policy *policy_free(Policy *p);

const PolicyTask *policy_find_task(const Policy *p, const char *name);
/* The task as run at a mutation level (0 = the task itself). */
const PolicyTask *policy_task_at_level(const PolicyTask *t, int mutation_level);

/* Is any of the caller's gids in the list? An unset list allows everyone. */
bool policy_groups_allow(const PolicyGroups *g, gid_t gid, const gid_t *groups, size_t n_groups);
