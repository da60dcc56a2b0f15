# net/client.cmake: the Seafile protocol client (Seahub API, file-server API, token store).
list(APPEND SEAFS_NET_SOURCES seaf_client.c seahub_api.c fileserver_api.c token_store.c)
