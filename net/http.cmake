# net/http.cmake: the pooled HTTP layer (libcurl).
list(APPEND SEAFS_NET_SOURCES http_pool.c)
