/* SPDX-License-Identifier: MIT */
/*
 * The wire to the switch, without the socket: a request as one line, and one
 * line the switch sent checked as a JSON-RPC 2.0 response to a request of
 * ours (strict JSON, "jsonrpc": "2.0", an integer id we sent, exactly one of
 * "result" and "error", an error with an integer code and a message). Pure
 * functions, so that every malformed shape is tested without a socket.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* {"jsonrpc":"2.0","id":id,"method":method,"params":params}, '\n'-terminated
 * (params NULL: none; not taken); malloc'd, its length in *ret_len; NULL on OOM. */
char *switch_request_line(uint64_t id, const char *method, json_object *params, size_t *ret_len);

typedef struct SwitchAnswer {
	json_object *root;    /* owns what the fields below borrow */
	uint64_t id;
	bool is_error;
	json_object *result;  /* !is_error: the result; NULL for "result": null */
	int64_t code;         /* is_error: the error's code and message */
	const char *message;
} SwitchAnswer;

/*
 * Parses one line (without its '\n'; trailing '\r' and blanks are ignored).
 * Returns 1 and fills *ret (release it with switch_answer_done()), 0 for a
 * blank line, -EBADMSG with *ret_why (a static phrase, e.g. "not JSON") for a
 * malformed one, -ENOMEM. max_id is the highest id sent so far.
 */
int switch_answer_parse(const char *line, size_t len, uint64_t max_id, SwitchAnswer *ret, const char **ret_why);

void switch_answer_done(SwitchAnswer *a);
