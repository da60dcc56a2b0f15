# Seafile objects: commits, fs objects, pack-fs bodies, SHA-1 ids (net/seaf_{sha1,json_field,
# commit,fsobj,packfs}.c).
list(APPEND SEAFS_NET_SOURCES seaf_sha1.c seaf_json_field.c seaf_commit.c seaf_fsobj.c
     seaf_packfs.c)
