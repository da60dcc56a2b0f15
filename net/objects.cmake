# Seafile objects: SHA-1 ids and block verification, parse messages, commits, version-1 fs
# objects, pack-fs bodies.
list(APPEND SEAFS_NET_SOURCES seaf_sha1.c seaf_parse_msg.c seaf_json_field.c seaf_commit.c
     seaf_fsobj.c seaf_packfs.c)
