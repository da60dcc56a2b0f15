# Fragment of net/CMakeLists.txt: content-defined chunking (seaf_cdc).
list(APPEND SEAFS_NET_SOURCES seaf_cdc.c)
