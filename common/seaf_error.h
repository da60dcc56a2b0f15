/* seaf_error (common/): the closed set of error codes used across seafs, their text and their
 * errno. */
#ifndef SEAFS_SEAF_ERROR_H
#define SEAFS_SEAF_ERROR_H

typedef enum seaf_err {
    SEAF_OK = 0,
    SEAF_ERR_NOMEM,       /* out of memory */
    SEAF_ERR_INVALID_ARG, /* a caller passed something unusable */
    SEAF_ERR_MALFORMED,   /* data from the server (or cache) does not parse or validate */
    SEAF_ERR_ID_MISMATCH, /* content does not hash to its id (corrupted block or object) */
    SEAF_ERR_NOT_FOUND,   /* the server or the cache does not have the object */
    SEAF_ERR_AUTH,        /* credentials refused (bad password, bad or revoked token) */
    SEAF_ERR_PERMISSION,  /* authenticated but not allowed (403 on a permission check) */
    SEAF_ERR_REPO_GONE,   /* library deleted or corrupted on the server (444/445) */
    SEAF_ERR_QUOTA,       /* over quota (443) */
    SEAF_ERR_PROTOCOL,    /* the server answered something the protocol does not allow */
    SEAF_ERR_SERVER,      /* 5xx after retries */
    SEAF_ERR_NETWORK,     /* connection refused / reset / DNS failure after retries */
    SEAF_ERR_TIMEOUT,     /* no progress within the configured bound */
    SEAF_ERR_TLS,         /* TLS handshake or certificate verification failed */
    SEAF_ERR_IO,          /* local disk error */
    SEAF_ERR_NOSPACE,     /* local disk full / cache limit cannot be met */
    SEAF_ERR_UNSUPPORTED, /* a feature the server data needs that seafs does not have */
    SEAF_ERR_COUNT
} seaf_err;

/* A short human-readable description of err ("unknown error" for out-of-range values). */
const char *seaf_strerror(seaf_err err);
/* The errno a filesystem operation reports for err: the one place this mapping is made. */
int seaf_err_to_errno(seaf_err err);

#endif
