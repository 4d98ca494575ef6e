/* fuzz_repl_param — the engine's parameter parser (repl_param_parse, the one reader of
 * momedo.conf's and the simulator's engine values). Input: [row selector][text]. An
 * accepted value is within the row's bounds and is exactly digits x one allowed suffix
 * (or, for a choice, exactly one of its names);
 * a refusal leaves the value alone and writes a NUL-terminated message naming the row. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size - 1 > TEXT_MAX) return 0;
  const struct repl_param *p = &repl_params[data[0] % repl_params_n];
  char text[TEXT_MAX + 1], why[REPL_PARAM_TEXT_MAX];
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  uint64_t v = 0xdeadbeef;
  memset(why, 'x', sizeof why);
  int rc = repl_param_parse(p, text, &v, why, sizeof why);
  if (rc == 0) {
    if (v < p->min || v > p->max) abort();
    if (p->unit == REPL_UNIT_CHOICE ? strcmp(text, p->choices[v]) != 0
                                    : (text[0] < '0' || text[0] > '9'))
      abort();
    struct repl_config c;
    repl_config_default(&c);
    if (repl_param_set(&c, p, v) != 0 || repl_param_get(&c, p) != v) abort();
    if (repl_config_check(&c) != 0) abort();
  } else {
    if (rc != MOMEDO_E_CONFIG || v != 0xdeadbeef) abort();
    if (memchr(why, '\0', sizeof why) == NULL) abort();
    if (strncmp(why, p->name, strlen(p->name)) != 0) abort();
  }
  return 0;
}
