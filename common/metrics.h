/* SPDX-License-Identifier: MIT */
/*
 * Counters and histograms kept in memory, and their OpenMetrics text
 * (https://github.com/OpenObservability/OpenMetrics, version 1.0.0).
 *
 * No locking: each value is touched by one thread only (the daemon's loop);
 * whoever observes on another thread hands the number to the loop first.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_MAX_BUCKETS 16

typedef struct MetricsHistogram {
	const double *bounds; /* ascending upper bounds; +Inf is implicit */
	size_t n_bounds;      /* <= METRICS_MAX_BUCKETS */
	uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count;
	double sum;
} MetricsHistogram;

void metrics_histogram_init(MetricsHistogram *h, const double *bounds, size_t n_bounds);
void metrics_histogram_observe(MetricsHistogram *h, double v);

/* Latency buckets in seconds shared by the daemon's histograms: 100 µs to 60 s. */
extern const double metrics_latency_bounds[];
extern const size_t metrics_latency_n_bounds;

/*
 * A counter (or gauge) with up to METRICS_MAX_LABELS labels. A label keeps at
 * most METRICS_LABEL_VALUES distinct values; any further value is counted
 * under "other", so a client choosing label values (a model name reported by
 * a daughter) cannot grow the daemon's memory or the scrape without bound.
 */
#define METRICS_MAX_LABELS 3
#define METRICS_LABEL_VALUES 64
#define METRICS_LABEL_MAX 128 /* longer values are cut */

typedef struct MetricsEntry {
	char *values[METRICS_MAX_LABELS];
	double value;
} MetricsEntry;

typedef struct MetricsVec {
	size_t n_labels;
	const char *labels[METRICS_MAX_LABELS];
	MetricsEntry *entries;
	size_t n_entries, n_allocated;
	size_t n_distinct[METRICS_MAX_LABELS];
} MetricsVec;

/* labels: n_labels names (static strings). */
void metrics_vec_init(MetricsVec *v, size_t n_labels, const char *const *labels);
void metrics_vec_done(MetricsVec *v);
/* values: n_labels values (NULL reads as ""). -ENOMEM leaves v as it was. */
int metrics_vec_add(MetricsVec *v, const char *const *values, double delta);
/* The value of one label set, 0 when absent (for tests). */
double metrics_vec_get(const MetricsVec *v, const char *const *values);

/* Writing the text. Families first announce themselves: type is "counter",
 * "gauge" or "histogram", unit may be NULL (else the name must end in
 * "_<unit>"). Samples of a counter family are written with the "_total"
 * suffix by the caller. labels: a preformatted "a=\"x\",b=\"y\"" or NULL. */
void metrics_family(FILE *f, const char *name, const char *type, const char *unit, const char *help);
void metrics_sample(FILE *f, const char *name, const char *labels, double value);
/* One label pair, escaped, appended to buf (with a comma if buf is not
 * empty). Returns buf. */
char *metrics_label(char *buf, size_t size, const char *name, const char *value);
void metrics_write_vec(FILE *f, const char *sample_name, const MetricsVec *v);
void metrics_write_histogram(FILE *f, const char *name, const char *labels, const MetricsHistogram *h);
/* "# EOF", the text's last line. */
void metrics_eof(FILE *f);

#define METRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
