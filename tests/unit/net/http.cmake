# Unit tests of net/http_pool, against a scripted local HTTP server (http_test_server.c).
add_library(seafs_http_test_server STATIC ${CMAKE_CURRENT_LIST_DIR}/http_test_server.c)
target_include_directories(seafs_http_test_server PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(seafs_http_test_server PUBLIC Threads::Threads)
seafs_unit_test(test_http_pool test_http_pool.c seafs_net seafs_http_test_server)
seafs_unit_test(test_http_pool_concurrency test_http_pool_concurrency.c seafs_net
                seafs_http_test_server)
set_tests_properties(test_http_pool_concurrency PROPERTIES LABELS concurrency)
