"""TLS in net/'s HTTP pool, through tests/tools/seafs-netcheck against a tiny local HTTPS file
server with a self-signed certificate: verification is on by default (the unknown certificate
is refused), a CA file makes it trusted, and turning verification off works only explicitly and
with a warning."""
import datetime
import http.server
import ipaddress
import json
import ssl
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TLS_FAILED = "TLS verification failed"  # seaf_strerror(SEAF_ERR_TLS)


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seafs test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class FileServerHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        found = self.path == "/seafhttp/protocol-version"
        body = b'{"version": 2}' if found else b"not found\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FileServerHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d" % server.server_address[1], cert
    server.shutdown()
    server.server_close()
    thread.join()


def discover(tool, url, *options):
    done = subprocess.run([str(tool), "--server", url, "--user", "u", "--retries", "0",
                           *options, "discover"], capture_output=True, text=True, timeout=60)
    return json.loads(done.stdout), done.stderr


def test_unknown_certificate_is_refused_by_default(netcheck, https_server):
    url, _ = https_server
    result, _ = discover(netcheck, url)
    assert not result["ok"]
    # Discovery tries <origin>/seafhttp only: no plain-port fallback for https (§1.2).
    assert result["error"] == TLS_FAILED


def test_ca_file_makes_the_server_trusted(netcheck, https_server):
    url, cert = https_server
    result, log = discover(netcheck, url, "--ca-file", str(cert))
    assert result["ok"], log
    assert result["fileserver"] == url + "/seafhttp" and result["version"] == 2
    assert "DISABLED" not in log


def test_disabling_verification_is_explicit_and_warned(netcheck, https_server):
    url, _ = https_server
    result, log = discover(netcheck, url, "--insecure")
    assert result["ok"]
    assert "verification is DISABLED" in log
