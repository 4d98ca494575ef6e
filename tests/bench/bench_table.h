/* tests/bench/bench_table.h — the op-table loop of the bench_* programs: each op runs
 * until secs have passed and prints ops per wall-clock second, ops per CPU second of
 * this process (steadier on the shared machine) and MB/s when it names bytes per op.
 * Each program defines its own struct bench_ctx; this header only passes it on. */
#ifndef MOMEDO_BENCH_TABLE_H
#define MOMEDO_BENCH_TABLE_H

#include <stdio.h>

#include "os.h"

struct bench_ctx;
typedef int (*bench_fn)(struct bench_ctx *c);

struct bench_op {
  const char *name;
  bench_fn fn;
  double bytes; /* per op, for a MB/s column; 0 for none */
};

/* Runs every op of the table; 1 (after a message) as soon as one fails, else 0. */
static inline int bench_table(const struct bench_op *ops, size_t n_ops, struct bench_ctx *c,
                              double secs) {
  printf("%-42s %12s %12s %10s\n", "operation", "ops/sec", "ops/cpu-sec", "MB/s");
  for (size_t i = 0; i < n_ops; i++) {
    long n = 0;
    double t0 = os_mono_s(), c0 = os_cpu_s(), t;
    do {
      if (ops[i].fn(c) != 0) {
        fprintf(stderr, "%s failed\n", ops[i].name);
        return 1;
      }
      n++;
      t = os_mono_s() - t0;
    } while (t < secs);
    double rate = (double)n / t;
    double cpu_rate = (double)n / (os_cpu_s() - c0);
    if (ops[i].bytes > 0)
      printf("%-42s %12.0f %12.0f %10.1f\n", ops[i].name, rate, cpu_rate,
             rate * ops[i].bytes / 1e6);
    else
      printf("%-42s %12.0f %12.0f %10s\n", ops[i].name, rate, cpu_rate, "-");
  }
  return 0;
}

#endif
