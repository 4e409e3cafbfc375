/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

const double metrics_latency_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					  0.05,   0.1,     0.25,   0.5,   1,      5,     15,   60 };
const size_t metrics_latency_n_bounds = ELEMENTSOF(metrics_latency_bounds);

void metrics_histogram_init(MetricsHistogram *h, const double *bounds, size_t n_bounds)
{
	*h = (MetricsHistogram){ .bounds = bounds, .n_bounds = MIN(n_bounds, (size_t)METRICS_MAX_BUCKETS) };
}

void metrics_histogram_observe(MetricsHistogram *h, double v)
{
	size_t i = 0;

	if (isnan(v))
		return;
	while (i < h->n_bounds && v > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->count++;
	h->sum += v;
}

void metrics_vec_init(MetricsVec *v, size_t n_labels, const char *const *labels)
{
	*v = (MetricsVec){ .n_labels = MIN(n_labels, (size_t)METRICS_MAX_LABELS) };
	for (size_t i = 0; i < v->n_labels; i++)
		v->labels[i] = labels[i];
}

void metrics_vec_done(MetricsVec *v)
{
	for (size_t i = 0; i < v->n_entries; i++)
		for (size_t l = 0; l < v->n_labels; l++)
			free(v->entries[i].values[l]);
	free(v->entries);
	v->entries = NULL;
	v->n_entries = v->n_allocated = 0;
	memset(v->n_distinct, 0, sizeof(v->n_distinct));
}

static bool value_seen(const MetricsVec *v, size_t l, const char *value)
{
	for (size_t i = 0; i < v->n_entries; i++)
		if (strcmp(v->entries[i].values[l], value) == 0)
			return true;
	return false;
}

static MetricsEntry *find(const MetricsVec *v, const char *const *values)
{
	for (size_t i = 0; i < v->n_entries; i++) {
		size_t l = 0;
		while (l < v->n_labels && strcmp(v->entries[i].values[l], values[l]) == 0)
			l++;
		if (l == v->n_labels)
			return &v->entries[i];
	}
	return NULL;
}

int metrics_vec_add(MetricsVec *v, const char *const *values, double delta)
{
	char cut[METRICS_MAX_LABELS][METRICS_LABEL_MAX + 1];
	const char *use[METRICS_MAX_LABELS];
	bool fresh[METRICS_MAX_LABELS] = {};
	MetricsEntry *e;

	for (size_t l = 0; l < v->n_labels; l++) {
		snprintf(cut[l], sizeof(cut[l]), "%s", values && values[l] ? values[l] : "");
		use[l] = cut[l];
		if (!value_seen(v, l, use[l])) {
			if (v->n_distinct[l] >= METRICS_LABEL_VALUES)
				use[l] = "other";
			else
				fresh[l] = true;
		}
	}
	e = find(v, use);
	if (!e) {
		if (v->n_entries == v->n_allocated) {
			size_t n = v->n_allocated ? v->n_allocated * 2 : 8;
			MetricsEntry *p = reallocarray(v->entries, n, sizeof(*p));
			if (!p)
				return -ENOMEM;
			v->entries = p;
			v->n_allocated = n;
		}
		e = &v->entries[v->n_entries];
		*e = (MetricsEntry){};
		for (size_t l = 0; l < v->n_labels; l++) {
			e->values[l] = strdup(use[l]);
			if (!e->values[l]) {
				for (size_t k = 0; k < l; k++)
					free(e->values[k]);
				return -ENOMEM;
			}
		}
		v->n_entries++;
		/* "other" itself is not one of the capped values. */
		for (size_t l = 0; l < v->n_labels; l++)
			if (fresh[l])
				v->n_distinct[l]++;
	}
	e->value += delta;
	return 0;
}

double metrics_vec_get(const MetricsVec *v, const char *const *values)
{
	const MetricsEntry *e = find(v, values);
	return e ? e->value : 0;
}

/* OpenMetrics numbers: integers as integers, others with enough digits to
 * read back the same double. */
static void put_number(FILE *f, double v)
{
	if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else if (isnan(v))
		fputs("NaN", f);
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
		fprintf(f, "%" PRId64, (int64_t)v);
	else
		fprintf(f, "%.17g", v);
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void metrics_family(FILE *f, const char *name, const char *type, const char *unit, const char *help)
{
	fprintf(f, "# TYPE %s %s\n", name, type);
	if (unit)
		fprintf(f, "# UNIT %s %s\n", name, unit);
	if (help) {
		fprintf(f, "# HELP %s ", name);
		put_escaped(f, help);
		fputc('\n', f);
	}
}

void metrics_sample(FILE *f, const char *name, const char *labels, double value)
{
	fputs(name, f);
	if (labels && *labels)
		fprintf(f, "{%s}", labels);
	fputc(' ', f);
	put_number(f, value);
	fputc('\n', f);
}

char *metrics_label(char *buf, size_t size, const char *name, const char *value)
{
	size_t n = strlen(buf);
	FILE *f;

	if (n + 1 >= size)
		return buf;
	f = fmemopen(buf + n, size - n, "w");
	if (!f)
		return buf;
	fprintf(f, "%s%s=\"", n ? "," : "", name);
	put_escaped(f, value ?: "");
	fputc('"', f);
	fclose(f);
	return buf;
}

void metrics_write_vec(FILE *f, const char *sample_name, const MetricsVec *v)
{
	for (size_t i = 0; i < v->n_entries; i++) {
		char labels[METRICS_MAX_LABELS * (METRICS_LABEL_MAX * 2 + 64)] = "";
		for (size_t l = 0; l < v->n_labels; l++)
			metrics_label(labels, sizeof labels, v->labels[l], v->entries[i].values[l]);
		metrics_sample(f, sample_name, labels, v->entries[i].value);
	}
}

void metrics_write_histogram(FILE *f, const char *name, const char *labels, const MetricsHistogram *h)
{
	uint64_t cum = 0;

	for (size_t i = 0; i <= h->n_bounds; i++) {
		cum += h->buckets[i];
		fprintf(f, "%s_bucket{%s%sle=\"", name, labels ?: "", labels && *labels ? "," : "");
		if (i < h->n_bounds)
			fprintf(f, "%g", h->bounds[i]);
		else
			fputs("+Inf", f);
		fprintf(f, "\"} %" PRIu64 "\n", cum);
	}
	fprintf(f, "%s_count", name);
	if (labels && *labels)
		fprintf(f, "{%s}", labels);
	fprintf(f, " %" PRIu64 "\n", h->count);
	fprintf(f, "%s_sum", name);
	if (labels && *labels)
		fprintf(f, "{%s}", labels);
	fputc(' ', f);
	put_number(f, h->sum);
	fputc('\n', f);
}

void metrics_eof(FILE *f)
{
	fputs("# EOF\n", f);
}
