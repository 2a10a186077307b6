/*
 * clock.c: the one monotonic clock the node measures intervals with
 * (deadlines, idle times, latencies), and how many helper threads the
 * machine's cores allow.
 */
#include "util/weft.h"

#include <time.h>
#include <unistd.h>

uint64_t
weft_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

int
weft_helpers(int max)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n <= 1)
        return 0;
    return n - 1 > max ? max : (int) n - 1;
}
