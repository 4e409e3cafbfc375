/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "list.h"
#include "log.h"
#include "plan/switch-client.h"
#include "subtask.h"

struct SubtaskCall {
	Subtasks *owner;
	SubtaskDone cb; /* NULL: cancelled, or answered early (the daughter ended) */
	void *userdata;
	char daughter_id[ID_STRING_MAX];
	char subtask_type[129]; /* for the log */
	char *token; /* to find the daughter again when the answer comes */
	LIST_FIELDS(SubtaskCall, calls);
};

struct Subtasks {
	sd_event *event;
	SubtaskAccount account;
	void *account_userdata;
	Store *store;
	Runner *runner;
	SwitchClient *client; /* NULL unless the mode is "switch" */
	char *client_error;   /* why there is no client in mode "switch" */
	bool mode_switch;
	uint64_t forwarded;
	SubtaskCall *calls;
};

static void set_text(char **field, const char *v)
{
	char *s;

	if (!v || !(s = strndup(v, 256)))
		return;
	utf8_scrub(s);
	free(*field);
	*field = s;
}

static bool account_on_runner(void *userdata, const char *daughter_id, const char *token, int64_t cli, int64_t local,
			      const char *model, const char *provider)
{
	Subtasks *s = userdata;
	/* Found again by id and token: a daughter that ended meanwhile (and
	 * whose attempt row is settled) is not written to. */
	Hija *h = runner_find_daughter(s->runner, daughter_id, token);

	if (!h)
		return false;
	Attempt *a = hija_attempt(h);
	/* Saturating: a switch that counts absurdly must not wrap the counters. */
	a->tokens_used_cli = cli > INT64_MAX - a->tokens_used_cli ? INT64_MAX : a->tokens_used_cli + cli;
	a->tokens_used_local = local > INT64_MAX - a->tokens_used_local ? INT64_MAX : a->tokens_used_local + local;
	set_text(&a->switch_model_used, model);
	set_text(&a->cli_provider_used, provider);
	if (hija_attempt_save(h) < 0)
		log_warning("sub-task of daughter %s: cannot record its tokens: %s", daughter_id,
			    store_last_error(s->store));
	return true;
}

int subtasks_new_with(sd_event *e, SubtaskAccount account, void *userdata, Subtasks **ret)
{
	Subtasks *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(e);
	s->account = account;
	s->account_userdata = userdata;
	*ret = s;
	return 0;
}

int subtasks_new(sd_event *e, Store *store, Runner *runner, Subtasks **ret)
{
	int r = subtasks_new_with(e, account_on_runner, NULL, ret);

	if (r < 0)
		return r;
	(*ret)->account_userdata = *ret;
	(*ret)->store = store;
	(*ret)->runner = runner;
	return 0;
}

static json_object *failure_reply(const char *status, bool retry, const char *error)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "retry", json_object_new_boolean(retry));
	json_object_object_add(o, "error", json_object_new_string(error));
	return o;
}

/* Tell the caller, once, and forget the call. */
static void call_finish(SubtaskCall *sc, json_object *reply)
{
	SubtaskDone cb = sc->cb;
	void *userdata = sc->userdata;

	LIST_REMOVE(calls, sc->owner->calls, sc);
	free(sc->token);
	free(sc);
	if (cb)
		cb(userdata, reply);
	else
		json_object_put(reply);
}

Subtasks *subtasks_free(Subtasks *s)
{
	SubtaskCall *sc, *n;

	if (!s)
		return NULL;
	/* The client's "stopping" callbacks answer the calls in flight. */
	s->client = switch_client_free(s->client);
	LIST_FOREACH_SAFE(calls, sc, n, s->calls)
		call_finish(sc, failure_reply("error", false, "vx11d is stopping"));
	free(s->client_error);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

int subtasks_set_policy(Subtasks *s, const Policy *p)
{
	uint64_t cooldown = p->switch_.cooldown_seconds * USEC_PER_SEC;
	int r = 0;

	s->mode_switch = p->mode == POLICY_MODE_SWITCH;
	free(s->client_error);
	s->client_error = NULL;
	if (!s->mode_switch) {
		/* Calls in flight fail from the loop with "stopping". */
		s->client = switch_client_free(s->client);
		return 0;
	}
	if (s->client)
		r = switch_client_reconfigure(s->client, p->switch_.socket, p->switch_.timeout_ms,
					      (unsigned)p->switch_.failure_threshold, cooldown);
	else
		r = switch_client_new(s->event, p->switch_.socket, p->switch_.timeout_ms,
				      (unsigned)p->switch_.failure_threshold, cooldown, &s->client);
	if (r < 0) {
		log_error_errno(r, "cannot set up the switch client for sub-tasks (socket %s): %m",
				p->switch_.socket ?: "(none)");
		s->client = switch_client_free(s->client);
		if (asprintf(&s->client_error, "switch unavailable: cannot use socket %s: %s",
			     p->switch_.socket ?: "(none)", strerror(-r)) < 0)
			s->client_error = NULL;
	}
	return r;
}

/* Is v absent, or a JSON integer >= 0? */
static bool count_ok(json_object *o, const char *key, int64_t *ret)
{
	json_object *v;

	*ret = 0;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

/* Is v absent, null or a string? */
static bool text_ok(json_object *o, const char *key, const char **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	*ret = json_object_get_string(v);
	return true;
}

/* The switch answered: check the answer's shape (switch.md), account it on
 * the attempt, hand it on. */
static json_object *take_answer(SubtaskCall *sc, json_object *result)
{
	Subtasks *s = sc->owner;
	json_object *v;
	const char *status, *model, *provider;
	int64_t cli, local;

	if (!json_object_is_type(result, json_type_object) || !json_object_object_get_ex(result, "status", &v) ||
	    !json_object_is_type(v, json_type_string))
		return failure_reply("error", false, "switch malformed answer: no status");
	status = json_object_get_string(v);
	if (!streq(status, "ok") && !streq(status, "error"))
		return failure_reply("error", false, "switch malformed answer: status is neither \"ok\" nor \"error\"");
	if (!count_ok(result, "tokens_used_cli", &cli) || !count_ok(result, "tokens_used_local", &local))
		return failure_reply("error", false, "switch malformed answer: token counts must be integers >= 0");
	if (!text_ok(result, "model", &model) || !text_ok(result, "provider", &provider))
		return failure_reply("error", false, "switch malformed answer: model and provider must be strings");

	if (!s->account(s->account_userdata, sc->daughter_id, sc->token, cli, local, model, provider))
		return failure_reply("error", false, "the daughter ended while its sub-task ran");
	return json_object_get(result);
}

static void on_switch_answer(void *userdata, json_object *result, const char *error, bool retry)
{
	SubtaskCall *sc = userdata;
	json_object *reply;

	if (error)
		/* The seed's shape: "timeout" whenever the switch could not
		 * answer (down, slow, breaker open, busy) and asking again later
		 * may work; "error" when it answered wrongly. */
		reply = failure_reply(retry ? "timeout" : "error", retry,
				      streq(error, "stopping") ? "the switch was turned off (policy reload or shutdown)"
							       : error);
	else
		reply = take_answer(sc, result);
	{
		json_object *st = NULL, *e = NULL;
		json_object_object_get_ex(reply, "status", &st);
		json_object_object_get_ex(reply, "error", &e);
		log_debug("sub-task %s of daughter %s: %s%s%s%s", sc->subtask_type, sc->daughter_id,
			  st ? json_object_get_string(st) : "?", e ? ": " : "", e ? json_object_get_string(e) : "",
			  sc->cb ? "" : " (nobody waits for it any more)");
	}
	call_finish(sc, reply);
}

int subtask_start(Subtasks *s, const SubtaskWho *who, const char *subtask_type, json_object *payload, SubtaskDone cb,
		  void *userdata, SubtaskCall **ret, json_object **ret_reply)
{
	SubtaskCall *sc;
	json_object *params;
	int r;

	*ret = NULL;
	*ret_reply = NULL;
	if (!s || !s->mode_switch) {
		json_object_put(payload);
		return -EOPNOTSUPP;
	}
	if (!s->client) {
		/* Mode "switch" without a usable client (see subtasks_set_policy). */
		json_object_put(payload);
		*ret_reply = failure_reply("error", false, s->client_error ?: "switch unavailable");
		return 0;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		json_object_put(payload);
		return -ENOMEM;
	}
	sc->owner = s;
	sc->cb = cb;
	sc->userdata = userdata;
	snprintf(sc->daughter_id, sizeof(sc->daughter_id), "%s", who->daughter_id);
	snprintf(sc->subtask_type, sizeof(sc->subtask_type), "%s", subtask_type);
	sc->token = strdup(who->token);
	if (!sc->token) {
		free(sc);
		json_object_put(payload);
		return -ENOMEM;
	}
	LIST_PREPEND(calls, s->calls, sc);

	params = json_object_new_object();
	json_object_object_add(params, "task_id", json_object_new_string(who->task_id));
	json_object_object_add(params, "daughter_id", json_object_new_string(who->daughter_id));
	json_object_object_add(params, "attempt", json_object_new_int(who->attempt));
	json_object_object_add(params, "subtask_type", json_object_new_string(subtask_type));
	json_object_object_add(params, "payload", payload);
	r = switch_client_call(s->client, "switch.subtask", params, on_switch_answer, sc, NULL);
	if (r < 0) {
		LIST_REMOVE(calls, s->calls, sc);
		free(sc->token);
		free(sc);
		return r;
	}
	*ret = sc;
	s->forwarded++;
	return 0;
}

void subtask_cancel(SubtaskCall *sc)
{
	if (!sc)
		return;
	/* The request stays in flight, not cancelled in the switch client:
	 * its answer still tells the breaker about the switch, and what the
	 * switch spent is still accounted on a daughter that lives; only the
	 * reply is dropped (call_finish sees no callback). */
	sc->cb = NULL;
}

void subtasks_daughter_gone(Subtasks *s, const char *daughter_id)
{
	SubtaskCall *sc, *n;

	if (!s)
		return;
	LIST_FOREACH_SAFE(calls, sc, n, s->calls) {
		if (!streq(sc->daughter_id, daughter_id) || !sc->cb)
			continue;
		SubtaskDone cb = sc->cb;
		void *userdata = sc->userdata;
		/* The switch's answer, when it comes, only counts for the breaker. */
		sc->cb = NULL;
		cb(userdata, failure_reply("error", false, "the daughter ended while its sub-task ran"));
	}
}

uint64_t subtasks_count(const Subtasks *s)
{
	return s ? s->forwarded : 0;
}

json_object *subtasks_client_status(Subtasks *s)
{
	return s && s->client ? switch_client_status(s->client) : NULL;
}
