# Unit tests of the Seafile client, against a fake server replaying the captured responses.
seafs_unit_test(test_seaf_client test_seaf_client.c seafs_net seafs_http_test_server)
# Includes a test of many threads sharing one client: run under TSan too.
set_tests_properties(test_seaf_client PROPERTIES LABELS concurrency)
seafs_unit_test(test_token_store test_token_store.c seafs_net)
