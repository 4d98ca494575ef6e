/* client/core/counter.h — this device's vault save counter (counter.c; issue 11, finding 6):
 * one small sealed vault file, "format u8 || count be64", the count raised by every save
 * of the state. The home node keeps the highest count the device told it (StateCounterReq)
 * so a restored, older copy of the vault shows itself by a lower count. Portable: no I/O
 * except through the vault. See docs/security.md "A thief with a device". */
#ifndef MOMEDO_CLIENT_COUNTER_H
#define MOMEDO_CLIENT_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct vault;

#define COUNTER_FILE "counter"
#define COUNTER_FORMAT 1
#define COUNTER_REC_LEN 9

/* The record's bytes / parse them (E_CORRUPT for another length or format). */
void counter_encode(uint8_t out[static COUNTER_REC_LEN], uint64_t count);
MOMEDO_WUR int counter_parse(const uint8_t *p, size_t len, uint64_t *count);
/* Read the vault's count (no file yet: 0). */
MOMEDO_WUR int counter_load(const struct vault *v, uint64_t *count);
/* Raise *count by one and write it (E_BOUNDS at 2^64 - 1; *count unchanged on failure). */
MOMEDO_WUR int counter_bump(const struct vault *v, uint64_t *count);

#endif
