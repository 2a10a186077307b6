/*
 * log.c: weftd's log lines on stderr, one per event, with a UTC time and
 * a level, so an operator can grep and a supervisor can collect them.
 */
#include "node/node.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static log_level max_level = LOG_INFO;

static const char *const names[] = { "error", "warn", "info", "debug" };

void
log_set_level(log_level level)
{
    max_level = level;
}

int
log_parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void
log_msg(log_level level, const char *fmt, ...)
{
    char            ts[32];
    struct timespec now;
    struct tm       tm;
    va_list         ap;

    if (level > max_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ weftd %s: ", ts, now.tv_nsec / 1000000,
        names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
