/* The wall clock as Python's time.time() reads it, without the call through Python. */
#ifndef FASTSIG_CLOCK_H
#define FASTSIG_CLOCK_H

#ifdef _WIN32
#include <windows.h>

static double fs_wall_time(void)
{
    FILETIME ft;
    ULARGE_INTEGER t;
    GetSystemTimePreciseAsFileTime(&ft);
    t.LowPart = ft.dwLowDateTime;
    t.HighPart = ft.dwHighDateTime;
    return (double)(t.QuadPart - 116444736000000000ULL) * 1e-7; /* 100 ns ticks since 1601 */
}
#else
#include <time.h>

static double fs_wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
#endif

#endif
