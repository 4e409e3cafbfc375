/* SPDX-License-Identifier: MIT */
/* common/metrics: histograms, bounded label sets, and the OpenMetrics text,
 * read back by a small parser that enforces the rules scrapers rely on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"
#include "trace.h"
#include "util.h"

/* A parsed sample: "name{labels}" and its value. */
typedef struct Sample {
	char key[512];
	double value;
} Sample;

typedef struct Parsed {
	Sample samples[512];
	size_t n;
	int errors;
} Parsed;

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Parse text; count violations of the format in p->errors (each printed). */
static void parse(const char *text, Parsed *p)
{
	char family[256] = "", type[32] = "", *copy = strdup(text), *save = NULL;
	double last_bucket = -1;
	bool eof = false;

	memset(p, 0, sizeof(*p));
	if (!ends_with(text, "# EOF\n")) {
		printf("# text does not end with '# EOF\\n'\n");
		p->errors++;
	}
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], kind[64];
		if (eof) {
			printf("# a line after # EOF: %s\n", line);
			p->errors++;
		}
		if (streq(line, "# EOF")) {
			eof = true;
			continue;
		}
		if (sscanf(line, "# TYPE %255s %31s", family, type) == 2) {
			last_bucket = -1;
			continue;
		}
		if (sscanf(line, "# UNIT %255s %63s", name, kind) == 2) {
			char suffix[80];
			snprintf(suffix, sizeof suffix, "_%s", kind);
			if (!streq(name, family) || !ends_with(name, suffix)) {
				printf("# bad UNIT line: %s\n", line);
				p->errors++;
			}
			continue;
		}
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		/* A sample: name[{labels}] value */
		char *sp = strrchr(line, ' ');
		if (!sp || p->n >= ELEMENTSOF(p->samples)) {
			printf("# not a sample: %s\n", line);
			p->errors++;
			continue;
		}
		Sample *s = &p->samples[p->n++];
		snprintf(s->key, sizeof s->key, "%.*s", (int)(sp - line), line);
		s->value = strtod(sp + 1, NULL);
		size_t nl = strcspn(s->key, "{");
		snprintf(name, sizeof name, "%.*s", (int)nl, s->key);
		bool ok;
		if (streq(type, "counter"))
			ok = strlen(name) == strlen(family) + 6 && strncmp(name, family, strlen(family)) == 0 &&
			     ends_with(name, "_total");
		else if (streq(type, "histogram")) {
			char b[300], c[300], sm[300];
			snprintf(b, sizeof b, "%s_bucket", family);
			snprintf(c, sizeof c, "%s_count", family);
			snprintf(sm, sizeof sm, "%s_sum", family);
			ok = streq(name, b) || streq(name, c) || streq(name, sm);
			if (streq(name, b)) {
				if (s->value < last_bucket) {
					printf("# buckets not cumulative: %s\n", line);
					p->errors++;
				}
				last_bucket = s->value;
				if (!strstr(s->key, "le=\"")) {
					printf("# bucket without le: %s\n", line);
					p->errors++;
				}
			}
			if (streq(name, c) && s->value != last_bucket) {
				printf("# _count %g != the +Inf bucket %g\n", s->value, last_bucket);
				p->errors++;
			}
		} else
			ok = streq(name, family);
		if (!ok) {
			printf("# sample %s outside its family %s (%s)\n", name, family, type);
			p->errors++;
		}
	}
	if (!eof)
		p->errors++;
	free(copy);
}

static const Sample *lookup(const Parsed *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->samples[i].key, key))
			return &p->samples[i];
	printf("# no sample %s\n", key);
	return NULL;
}

static void test_histogram_buckets(void)
{
	static const double b[] = { 0.1, 1, 10 };
	MetricsHistogram h;

	metrics_histogram_init(&h, b, ELEMENTSOF(b));
	metrics_histogram_observe(&h, 0.05);
	metrics_histogram_observe(&h, 0.1); /* le is inclusive */
	metrics_histogram_observe(&h, 5);
	metrics_histogram_observe(&h, 100);
	CHECK_INTEQ(h.buckets[0], 2);
	CHECK_INTEQ(h.buckets[1], 0);
	CHECK_INTEQ(h.buckets[2], 1);
	CHECK_INTEQ(h.buckets[3], 1);
	CHECK_INTEQ(h.count, 4);
	CHECK(h.sum > 105.14 && h.sum < 105.16);
}

static void test_vec_caps_label_values(void)
{
	static const char *const names[] = { "model" };
	MetricsVec v;
	char val[32];

	metrics_vec_init(&v, 1, names);
	for (int i = 0; i < METRICS_LABEL_VALUES + 6; i++) {
		snprintf(val, sizeof val, "m%d", i);
		CHECK(metrics_vec_add(&v, (const char *const[]){ val }, 1) == 0);
	}
	/* A value seen before the cap keeps counting under its own name. */
	CHECK(metrics_vec_add(&v, (const char *const[]){ "m0" }, 2) == 0);
	CHECK_INTEQ(v.n_entries, METRICS_LABEL_VALUES + 1);
	CHECK(metrics_vec_get(&v, (const char *const[]){ "other" }) == 6);
	CHECK(metrics_vec_get(&v, (const char *const[]){ "m0" }) == 3);
	CHECK(metrics_vec_get(&v, (const char *const[]){ "m70" }) == 0);
	metrics_vec_done(&v);
}

static void test_text_parses_back(void)
{
	static const char *const names[] = { "method", "error_code" };
	static const double b[] = { 0.001, 0.01 };
	MetricsHistogram h;
	MetricsVec v;
	char *text = NULL, labels[256] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	Parsed *p = calloc(1, sizeof(*p));

	metrics_vec_init(&v, 2, names);
	CHECK(metrics_vec_add(&v, (const char *const[]){ "intent.submit", "0" }, 1) == 0);
	CHECK(metrics_vec_add(&v, (const char *const[]){ "intent.submit", "0" }, 1) == 0);
	CHECK(metrics_vec_add(&v, (const char *const[]){ "a\"b\\c\nd", "-32602" }, 1) == 0);
	metrics_histogram_init(&h, b, ELEMENTSOF(b));
	metrics_histogram_observe(&h, 0.0005);
	metrics_histogram_observe(&h, 0.5);

	metrics_family(f, "vx11_requests", "counter", NULL, "Requests \"by\" method\nand code.");
	metrics_write_vec(f, "vx11_requests_total", &v);
	metrics_family(f, "vx11_queue_depth", "gauge", NULL, "Queued tasks.");
	metrics_sample(f, "vx11_queue_depth", NULL, 3);
	metrics_family(f, "vx11_commit_seconds", "histogram", "seconds", "Commit latency.");
	metrics_write_histogram(f, "vx11_commit_seconds", metrics_label(labels, sizeof labels, "kind", "x"), &h);
	metrics_eof(f);
	fclose(f);

	parse(text, p);
	CHECK_INTEQ(p->errors, 0);
	const Sample *s = lookup(p, "vx11_requests_total{method=\"intent.submit\",error_code=\"0\"}");
	CHECK(s && s->value == 2);
	s = lookup(p, "vx11_requests_total{method=\"a\\\"b\\\\c\\nd\",error_code=\"-32602\"}");
	CHECK(s && s->value == 1);
	s = lookup(p, "vx11_queue_depth");
	CHECK(s && s->value == 3);
	s = lookup(p, "vx11_commit_seconds_bucket{kind=\"x\",le=\"0.001\"}");
	CHECK(s && s->value == 1);
	s = lookup(p, "vx11_commit_seconds_bucket{kind=\"x\",le=\"0.01\"}");
	CHECK(s && s->value == 1);
	s = lookup(p, "vx11_commit_seconds_bucket{kind=\"x\",le=\"+Inf\"}");
	CHECK(s && s->value == 2);
	s = lookup(p, "vx11_commit_seconds_sum{kind=\"x\"}");
	CHECK(s && s->value > 0.5 && s->value < 0.501);
	/* The HELP text stays on one line. */
	CHECK(strstr(text, "# HELP vx11_requests Requests \\\"by\\\" method\\nand code.\n"));

	metrics_vec_done(&v);
	free(text);
	free(p);
}

/* The parser itself catches what it must (else the test above proves nothing). */
static void test_parser_catches_errors(void)
{
	Parsed *p = calloc(1, sizeof(*p));

	parse("# TYPE x counter\nx 1\n# EOF\n", p);
	CHECK(p->errors > 0);
	parse("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n# EOF\n", p);
	CHECK(p->errors > 0);
	parse("# TYPE x gauge\nx 1\n", p);
	CHECK(p->errors > 0);
	parse("# TYPE x_bytes gauge\n# UNIT x_bytes seconds\nx_bytes 1\n# EOF\n", p);
	CHECK(p->errors > 0);
	parse("# TYPE x gauge\nx 1\n# EOF\n", p);
	CHECK_INTEQ(p->errors, 0);
	free(p);
}

/* common/trace: the traceparent a client may give with its intent. */
static void test_traceparent_parse(void)
{
	char id[TRACE_ID_HEX + 1] = "";

	CHECK(traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", id));
	CHECK_STREQ(id, "4bf92f3577b34da6a3ce929d0e0e4736");
	CHECK(traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", NULL));
	/* A later version may say more; 00 may not. */
	CHECK(traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", NULL));
	CHECK(!traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", NULL));
	CHECK(!traceparent_parse("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL));
	CHECK(!traceparent_parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", NULL));
	CHECK(!traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", NULL));
	CHECK(!traceparent_parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", NULL));
	CHECK(!traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", NULL));
	CHECK(!traceparent_parse("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL));
	CHECK(!traceparent_parse("", NULL));
	CHECK(!traceparent_parse(NULL, NULL));
}

int main(void)
{
	TEST(test_histogram_buckets);
	TEST(test_vec_caps_label_values);
	TEST(test_text_parses_back);
	TEST(test_parser_catches_errors);
	TEST(test_traceparent_parse);
	return tap_done();
}
