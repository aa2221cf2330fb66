/* A minimal test harness: CHECK() records failures inside a test case, RUN() runs a case and
 * counts it, check_finish() prints the closing "N passed, N failed" line and returns the exit
 * status. */
#ifndef LVC_TESTS_CHECK_H
#define LVC_TESTS_CHECK_H

#include <stdio.h>

static int check_cases_passed, check_cases_failed, check_case_failures;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            check_case_failures++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                       \
            fputc('\n', stderr);                                                                \
        }                                                                                       \
    } while (0)

#define RUN(fn)                                                                                 \
    do {                                                                                        \
        check_case_failures = 0;                                                                \
        fn();                                                                                   \
        if (check_case_failures) {                                                              \
            check_cases_failed++;                                                               \
            printf("not ok %s\n", #fn);                                                         \
        } else {                                                                                \
            check_cases_passed++;                                                               \
            printf("ok %s\n", #fn);                                                             \
        }                                                                                       \
        fflush(stdout);                                                                         \
    } while (0)

static inline int check_finish(void)
{
    printf("%d passed, %d failed\n", check_cases_passed, check_cases_failed);
    return check_cases_failed ? 1 : 0;
}

#endif
