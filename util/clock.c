/*
 * clock.c: the one monotonic clock the node measures intervals with
 * (deadlines, idle times, latencies).
 */
#include "util/weft.h"

#include <time.h>

uint64_t
weft_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}
