/* seafs entry point: command line of the `seafs` binary. */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <curl/curl.h>
#include <jansson.h>
#include <lz4.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

static void print_versions(void)
{
    printf("seafs %s\n", SEAFS_VERSION);
    printf("  libfuse %s, %s, %s, lz4 %s, sqlite %s, jansson %s, zlib %s\n", fuse_pkgversion(),
           curl_version(), OpenSSL_version(OPENSSL_VERSION), LZ4_versionString(),
           sqlite3_libversion(), JANSSON_VERSION, zlibVersion());
}

static void print_usage(FILE *out)
{
    fprintf(out, "usage: seafs SERVER_URL MOUNTPOINT [-o options] [-f] [-d]\n"
                 "       seafs --version\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        print_versions();
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_usage(stdout);
        return 0;
    }
    print_usage(stderr);
    fprintf(stderr, "seafs: mounting is not part of this build yet\n");
    return 2;
}
