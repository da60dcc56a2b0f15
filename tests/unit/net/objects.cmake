# Unit tests of the Seafile object parsers (net/seaf_{sha1,commit,fsobj,packfs}.c).
add_library(seafs_vectors_util STATIC vectors_util.c)
target_link_libraries(seafs_vectors_util PUBLIC seafs_net)
target_compile_definitions(seafs_vectors_util PUBLIC SEAFS_VECTORS_DIR="${SEAFS_VECTORS}")
target_include_directories(seafs_vectors_util PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
foreach(test sha1 commit fsobj packfs)
  seafs_unit_test(test_seaf_${test} test_seaf_${test}.c seafs_vectors_util)
endforeach()
