/* SPDX-License-Identifier: MIT */
/*
 * Requests out and answers in. Answers are checked before any is trusted: a
 * switch that says something else than a response to our request is broken,
 * and the client drops the connection rather than guess which call a line
 * was meant for.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "switch-wire.h"
#include "util.h"

char *switch_request_line(uint64_t id, const char *method, json_object *params, size_t *ret_len)
{
	_cleanup_json_ json_object *req = json_object_new_object();
	const char *s;
	size_t len;
	char *line;

	if (!req || json_object_object_add(req, "jsonrpc", json_object_new_string("2.0")) < 0 ||
	    json_object_object_add(req, "id", json_object_new_int64((int64_t)id)) < 0 ||
	    json_object_object_add(req, "method", json_object_new_string(method)) < 0)
		return NULL;
	if (params && json_object_object_add(req, "params", json_object_get(params)) < 0)
		return NULL;
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return NULL;
	len = strlen(s);
	line = malloc(len + 2);
	if (!line)
		return NULL;
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	*ret_len = len + 1;
	return line;
}

/* Strict JSON (json-c's own strict mode, UTF-8 checked), all of the line. */
static int parse_json(const char *line, size_t len, json_object **ret)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;

	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	*ret = o;
	return 0;
}

/* json-c's strict mode still reads NaN and Infinity, which are not JSON and
 * would travel on into replies and the store. Its tokener's depth limit
 * bounds the recursion. */
static bool all_finite(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (!all_finite(json_object_array_get_idx(o, i)))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(o, key, v)
		{
			(void)key;
			if (!all_finite(v))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

static int malformed(json_object *root, const char *why, const char **ret_why)
{
	json_object_put(root);
	*ret_why = why;
	return -EBADMSG;
}

int switch_answer_parse(const char *line, size_t len, uint64_t max_id, SwitchAnswer *ret, const char **ret_why)
{
	json_object *root = NULL, *v, *error = NULL, *code, *message;
	bool has_result, has_error;
	int64_t id;
	int r;

	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	/* The client caps lines far below this; json-c takes an int. */
	if (len > INT32_MAX)
		return malformed(NULL, "not JSON", ret_why);
	r = parse_json(line, len, &root);
	if (r < 0)
		return r;
	if (!root || !all_finite(root))
		return malformed(root, "not JSON", ret_why);
	if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "jsonrpc", &v) ||
	    !json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), "2.0"))
		return malformed(root, "not a JSON-RPC 2.0 response", ret_why);
	if (!json_object_object_get_ex(root, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    (id = json_object_get_int64(v)) < 1 || (uint64_t)id > max_id)
		return malformed(root, "an id that was never sent", ret_why);
	has_result = json_object_object_get_ex(root, "result", NULL);
	has_error = json_object_object_get_ex(root, "error", &error);
	if (has_result == has_error)
		return malformed(root, "not exactly one of result and error", ret_why);
	if (has_error && (!json_object_is_type(error, json_type_object) ||
			  !json_object_object_get_ex(error, "code", &code) || !json_object_is_type(code, json_type_int) ||
			  !json_object_object_get_ex(error, "message", &message) ||
			  !json_object_is_type(message, json_type_string)))
		return malformed(root, "an error without an integer code and a message", ret_why);

	*ret = (SwitchAnswer){ .root = root, .id = (uint64_t)id, .is_error = has_error };
	if (has_error) {
		ret->code = json_object_get_int64(code);
		ret->message = json_object_get_string(message);
	} else
		json_object_object_get_ex(root, "result", &ret->result);
	return 1;
}

void switch_answer_done(SwitchAnswer *a)
{
	json_object_put(a->root);
	*a = (SwitchAnswer){ 0 };
}
