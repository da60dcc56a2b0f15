# Fragment of tests/unit/net/CMakeLists.txt: unit test of net/seaf_cdc.
seafs_unit_test(test_seaf_cdc test_seaf_cdc.c seafs_net)
