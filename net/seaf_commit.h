/* seaf_commit: parsing and validation of Seafile commit objects (plain JSON, protocol doc §4.1)
 * as served by GET commit/<id>, written by either the C or the Go server, and computation of a
 * commit id. Only repo version 1 is accepted. */
#ifndef SEAFS_SEAF_COMMIT_H
#define SEAFS_SEAF_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"
#include "seaf_parse_msg.h"

/* Largest commit text accepted. Real commits are under 1 KiB (the description is a one-line
 * summary); a larger body is refused before it reaches the JSON parser. */
#define SEAF_COMMIT_MAX_SIZE (1024 * 1024)

/* A parsed commit. Strings are NUL-terminated copies owned by the commit. */
struct seaf_commit {
    char commit_id[SEAF_ID_LEN + 1];        /* as stated in the JSON */
    char root_id[SEAF_ID_LEN + 1];          /* SEAF_EMPTY_ID for an empty library */
    char repo_id[SEAF_REPO_ID_LEN + 1];     /* lowercase UUID */
    char creator[SEAF_ID_LEN + 1];          /* device id, exactly 40 characters */
    char parent_id[SEAF_ID_LEN + 1];        /* "" for the first commit of a library */
    char second_parent_id[SEAF_ID_LEN + 1]; /* "" unless this is a merge commit */
    char *creator_name;                     /* author email; NULL when absent */
    char *description;                      /* may be "" */
    char *repo_name;                        /* library name at this commit */
    char *repo_desc;                        /* "" when absent */
    char *device_name;                      /* NULL when absent */
    char *client_version;                   /* NULL when absent */
    int64_t ctime;                          /* Unix seconds */
    int version;                            /* repo format version: always 1 here */
    bool encrypted;                         /* "encrypted": "true" */
    int enc_version;                        /* 1..4 when encrypted, else 0 */
    char *magic;                            /* password check value (hex); NULL when absent */
    char *key;                              /* encrypted file key (96 hex); NULL when absent */
    char *salt;                             /* 64 hex (enc_version >= 3); NULL when absent */
    char *pwd_hash;                         /* replaces magic when present; NULL otherwise */
    char *pwd_hash_algo;                    /* NULL when absent */
    char *pwd_hash_params;                  /* NULL when absent */
    /* Integer flags written as "<key>": 1 when set (and kept so that a commit can be written
     * back byte for byte, see seaf_commit_to_json); clients ignore them. */
    bool no_local_history; /* legacy; the C server and older C clients write it */
    bool conflict;         /* a server merge that made conflict copies */
    bool new_merge;        /* a merge commit made by the server */
    bool repaired;         /* set by server repair tools */
};

/* Parses and validates len bytes of commit JSON into *out (free with seaf_commit_free).
 * Errors: SEAF_ERR_MALFORMED (bad JSON, wrong types, bad ids, bad encryption fields, too large),
 * SEAF_ERR_UNSUPPORTED (repo version 0 / newer than 1, enc_version > 4), SEAF_ERR_NOMEM,
 * SEAF_ERR_INVALID_ARG. msg (may be NULL) receives the reason. The caller compares
 * commit_id with the id it asked for; the stated id is not re-derived here because servers and
 * third-party clients may choose any unique id (see seaf_commit_compute_id). */
seaf_err seaf_commit_parse(const char *json, size_t len, struct seaf_commit **out,
                           struct seaf_parse_msg *msg);
/* Frees a commit; NULL is a no-op. */
void seaf_commit_free(struct seaf_commit *commit);

/* How a commit id is derived: SHA-1 over root_id, creator, creator_name (if present),
 * description and ctime (int64 big-endian). The C implementations (clients, C server) hash each
 * string with its terminating NUL; the Go file server hashes its own commits without them. */
enum seaf_commit_id_style {
    SEAF_COMMIT_ID_C,  /* with NUL terminators: what seafs uses for commits it creates */
    SEAF_COMMIT_ID_GO, /* without NUL terminators */
};
/* Computes the id of commit in the given style into id_out. */
seaf_err seaf_commit_compute_id(const struct seaf_commit *commit, enum seaf_commit_id_style style,
                                char id_out[SEAF_ID_LEN + 1]);

#endif
