/* SPDX-License-Identifier: MIT */
/*
 * Attestation: what one attempt actually runs with, written down once its
 * spawn request is ready: its ids, the limits its cgroup and rlimits got
 * (and what the host could not apply), its seccomp program by profile and
 * SHA-256 of the BPF the kernel gets, its namespaces and mounts, its
 * Landlock rules and ABI. The journal entry of the attempt's start carries it
 * (VX11_CONFINEMENT), and task.get shows it per attempt ("confinement").
 */
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "runner-internal.h"

static json_object *strv_json(char *const *l)
{
	json_object *a = json_object_new_array();

	for (char *const *p = l; p && *p; p++)
		json_object_array_add(a, json_object_new_string(*p));
	return a;
}

static void add_limit(json_object *o, const char *key, uint64_t v, uint64_t unset)
{
	if (v != unset)
		json_object_object_add(o, key, json_object_new_uint64(v));
}

char *hija_confinement_json(const Hija *h, const PolicyTask *pt)
{
	const SpawnRequest *r = &h->req;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *limits = json_object_new_object(), *rl = json_object_new_object(), *ns = json_object_new_object(),
		    *mounts = json_object_new_object(), *sc = NULL, *ll = NULL;

	json_object_object_add(o, "uid", json_object_new_int64(h->uid));
	json_object_object_add(o, "gid", json_object_new_int64(h->gid));
	json_object_object_add(o, "user", json_object_new_string(pt->user ?: "dynamic"));
	json_object_object_add(o, "cgroup", h->a.cgroup ? json_object_new_string(h->a.cgroup) : NULL);

	/* The policy's limits; "unapplied" says which of them the host could not. */
	add_limit(limits, "memory_max", pt->limits.memory_max, UINT64_MAX);
	if (pt->limits.pids_max >= 0)
		json_object_object_add(limits, "pids_max", json_object_new_int64(pt->limits.pids_max));
	if (pt->limits.cpu_max)
		json_object_object_add(limits, "cpu_max_percent", json_object_new_int64(pt->limits.cpu_max));
	json_object_object_add(o, "limits", limits);
	add_limit(rl, "nofile", r->rlimits.nofile, SPAWN_RLIMIT_UNSET);
	add_limit(rl, "fsize", r->rlimits.fsize, SPAWN_RLIMIT_UNSET);
	add_limit(rl, "core", r->rlimits.core, SPAWN_RLIMIT_UNSET);
	add_limit(rl, "cpu", r->rlimits.cpu, SPAWN_RLIMIT_UNSET);
	json_object_object_add(o, "rlimits", rl);
	json_object_object_add(o, "no_new_privs", json_object_new_boolean(true));
	json_object_object_add(o, "capabilities", json_object_new_array());

	if (r->seccomp) {
		sc = json_object_new_object();
		json_object_object_add(sc, "profile", json_object_new_string(r->seccomp->origin ?: "?"));
		json_object_object_add(sc, "sha256", json_object_new_string(r->seccomp->sha256));
		json_object_object_add(sc, "instructions", json_object_new_int(r->seccomp->prog.len));
	}
	json_object_object_add(o, "seccomp", sc);

	json_object_object_add(ns, "ipc", json_object_new_string(r->private_ipc ? "own" : "host"));
	/* "shared" under a unit with PrivateNetwork= is the daemon's own
	 * namespace, where "network": true daughters run too: say which. */
	json_object_object_add(ns, "net", json_object_new_string(r->private_network ? "own"
								  : r->netns_fd < 0 ? "host"
								  : h->runner->netns_is_own ? "daemon's (loopback only)"
											    : "shared"));
	if (r->private_network)
		json_object_object_add(ns, "loopback_up", json_object_new_boolean(spawn_can_bring_up_loopback()));
	bool mnt = r->private_tmp || r->read_only_system || r->hide_processes;
	json_object_object_add(ns, "mnt", json_object_new_string(mnt ? "own" : "host"));
	json_object_object_add(o, "namespaces", ns);
	json_object_object_add(mounts, "private_tmp", json_object_new_boolean(r->private_tmp));
	json_object_object_add(mounts, "read_only_system", json_object_new_boolean(r->read_only_system));
	json_object_object_add(mounts, "hide_processes", json_object_new_boolean(r->hide_processes));
	json_object_object_add(mounts, "private_shm", json_object_new_boolean(mnt));
	json_object_object_add(o, "mounts", mounts);

	if (r->landlock_fd >= 0) {
		ll = json_object_new_object();
		json_object_object_add(ll, "abi", json_object_new_int(h->runner->landlock_abi));
		json_object_object_add(ll, "read", strv_json(pt->fs.read));
		json_object_object_add(ll, "write", strv_json(pt->fs.write));
		json_object_object_add(ll, "exec", strv_json(pt->fs.exec));
		if (!pt->fs.set) {
			json_object_object_del(ll, "read");
			json_object_object_del(ll, "write");
			json_object_object_del(ll, "exec");
		}
		if (pt->tcp.set && h->runner->landlock_abi >= LANDLOCK_ABI_TCP) {
			json_object *tcp = json_object_new_object(), *b = json_object_new_array(),
				    *c = json_object_new_array();
			for (size_t i = 0; i < pt->tcp.n_bind; i++)
				json_object_array_add(b, json_object_new_int(pt->tcp.bind[i]));
			for (size_t i = 0; i < pt->tcp.n_connect; i++)
				json_object_array_add(c, json_object_new_int(pt->tcp.connect[i]));
			json_object_object_add(tcp, "bind", b);
			json_object_object_add(tcp, "connect", c);
			json_object_object_add(ll, "tcp", tcp);
		}
		if (h->runner->landlock_abi >= LANDLOCK_ABI_SCOPE && (pt->scope_abstract_unix || pt->scope_signal)) {
			json_object *scope = json_object_new_array();
			if (pt->scope_abstract_unix)
				json_object_array_add(scope, json_object_new_string("abstract_unix_socket"));
			if (pt->scope_signal)
				json_object_array_add(scope, json_object_new_string("signal"));
			json_object_object_add(ll, "scope", scope);
		}
	}
	json_object_object_add(o, "landlock", ll);
	json_object_object_add(o, "unapplied", h->a.unapplied ? json_object_new_string(h->a.unapplied) : NULL);
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Derived from the attestation, so the two can never disagree: the seed's
 * tools_json is the part of it a reader of a daughter wants at a glance. */
char *hija_tools_json(const Hija *h, const PolicyTask *pt)
{
	_cleanup_json_ json_object *conf = h->a.confinement ? json_tokener_parse(h->a.confinement) : NULL;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *v, *sc = NULL;
	const char *s;

	json_object_object_add(o, "argv", strv_json(h->argv));
	json_object_object_add(o, "user", json_object_new_string(pt->user ?: "dynamic"));
	json_object_object_add(o, "uid", json_object_new_int64(h->uid));
	if (conf && json_object_object_get_ex(conf, "seccomp", &v) && v) {
		json_object *p;
		sc = json_object_object_get_ex(v, "profile", &p) ? json_object_get(p) : NULL;
	}
	json_object_object_add(o, "seccomp_profile", sc);
	static const char *const keys[] = { "limits", "rlimits", "namespaces" };
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		json_object_object_add(o, keys[i],
				       conf && json_object_object_get_ex(conf, keys[i], &v) ? json_object_get(v) : NULL);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}
