/* protocol/status.h — the one table of error codes, their kinds and messages.
 * Every fallible function returns 0 or a negative MOMEDO_E_* code. The kind tells a
 * caller what to do: PROTO means "the peer sent garbage: drop the frame or the link",
 * IO and STORE are environmental, USAGE is the caller's input, INTERNAL is a bug. */
#ifndef MOMEDO_STATUS_H
#define MOMEDO_STATUS_H

#define MOMEDO_WUR __attribute__((warn_unused_result))

enum momedo_kind {
  MOMEDO_KIND_NONE = 0,
  MOMEDO_KIND_IO,
  MOMEDO_KIND_PROTO,
  MOMEDO_KIND_CRYPTO,
  MOMEDO_KIND_STORE,
  MOMEDO_KIND_USAGE,
  MOMEDO_KIND_INTERNAL,
};

/* X(name, value, kind, message). Values are stable: they travel in Error frames. */
#define MOMEDO_STATUS_MAP(X)                                                     \
  X(OK,              0,   NONE,     "ok")                                        \
  /* IO: 1xx */                                                                  \
  X(E_IO,           -100, IO,       "input/output error")                        \
  X(E_AGAIN,        -101, IO,       "try again later")                           \
  X(E_CLOSED,       -102, IO,       "connection closed")                         \
  X(E_TIMEOUT,      -103, IO,       "timed out")                                 \
  X(E_TLS,          -104, IO,       "TLS failure")                               \
  X(E_CONNREFUSED,  -105, IO,       "connection refused")                        \
  /* PROTO: 2xx — a peer sent something we will not accept */                    \
  X(E_PROTO,        -200, PROTO,    "malformed protocol data")                   \
  X(E_TOOBIG,       -201, PROTO,    "frame or field exceeds its limit")          \
  X(E_TRUNCATED,    -202, PROTO,    "input ended inside a structure")            \
  X(E_DECODE,       -203, PROTO,    "protobuf decoding failed")                  \
  X(E_NONCANON,     -204, PROTO,    "object is not in canonical encoding")       \
  X(E_BOUNDS,       -205, PROTO,    "field outside its allowed bounds")          \
  X(E_VERSION,      -206, PROTO,    "unsupported protocol or format version")    \
  X(E_EXPIRED,      -207, PROTO,    "object has expired")                        \
  X(E_UNKNOWN_KIND, -208, PROTO,    "unknown object or message kind")            \
  X(E_FUTURE,       -209, PROTO,    "timestamp too far in the future")           \
  X(E_UNEXPECTED,   -210, PROTO,    "message not allowed in this state")         \
  X(E_CHECKSUM,     -211, PROTO,    "check character does not match")            \
  X(E_SUPERSEDED,   -212, PROTO,    "a newer version is already known")          \
  X(E_DEAD,         -213, PROTO,    "object was tombstoned")                     \
  X(E_FORK,         -214, PROTO,    "conflicting signed history (fork)")         \
  X(E_SIGNER,       -215, PROTO,    "signed by a node not known here (yet)")     \
  /* CRYPTO: 3xx */                                                              \
  X(E_BADSIG,       -300, CRYPTO,   "signature verification failed")             \
  X(E_DECRYPT,      -301, CRYPTO,   "decryption or authentication failed")       \
  X(E_BADKEY,       -302, CRYPTO,   "invalid or weak key")                       \
  X(E_RNG,          -303, CRYPTO,   "random number generator failure")           \
  X(E_CRYPTO,       -304, CRYPTO,   "cryptographic library error")               \
  X(E_KEYCHANGED,   -305, CRYPTO,   "peer key changed since it was pinned")      \
  X(E_DOWNGRADE,    -306, CRYPTO,   "downgraded key agreement refused")          \
  /* STORE: 4xx */                                                               \
  X(E_STORE,        -400, STORE,    "storage error")                             \
  X(E_NOTFOUND,     -401, STORE,    "not found")                                 \
  X(E_CORRUPT,      -402, STORE,    "stored data is corrupt")                    \
  X(E_EXISTS,       -403, STORE,    "already exists")                            \
  X(E_QUOTA,        -404, STORE,    "quota exceeded")                            \
  X(E_DISKFULL,     -405, STORE,    "disk full")                                 \
  /* USAGE: 5xx — the caller's input (command line, config, API) */              \
  X(E_INVAL,        -500, USAGE,    "invalid argument")                          \
  X(E_CONFIG,       -501, USAGE,    "invalid configuration")                     \
  X(E_DENIED,       -502, USAGE,    "permission denied")                         \
  X(E_RATE,         -503, USAGE,    "rate limit exceeded")                       \
  X(E_NOSPACE,      -504, USAGE,    "buffer too small")                          \
  X(E_AUTH,         -505, USAGE,    "authentication required or failed")         \
  X(E_BUSY,         -506, USAGE,    "resource busy")                             \
  /* INTERNAL: 9xx */                                                            \
  X(E_NOMEM,        -900, INTERNAL, "out of memory")                             \
  X(E_INTERNAL,     -901, INTERNAL, "internal error")

enum momedo_status {
#define MOMEDO_X_(name, val, kind, msg) MOMEDO_##name = (val),
  MOMEDO_STATUS_MAP(MOMEDO_X_)
#undef MOMEDO_X_
};

/* Name ("E_TOOBIG") and message of a status; "unknown status" for anything else. */
const char *momedo_strerror(int status);
const char *momedo_status_name(int status);
enum momedo_kind momedo_status_kind(int status);

#endif
