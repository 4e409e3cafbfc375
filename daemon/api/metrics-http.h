/* SPDX-License-Identifier: MIT */
/*
 * vx11d --metrics-socket PATH: daemon.metrics' text over HTTP/1.1 on a Unix
 * socket, for scrapers that speak HTTP (GET /metrics). One request per
 * connection, served on the loop without blocking it.
 */
#pragma once

typedef struct Manager Manager;
typedef struct MetricsHttp MetricsHttp;

int metrics_http_new(Manager *m, const char *path, MetricsHttp **ret);
MetricsHttp *metrics_http_free(MetricsHttp *h);
