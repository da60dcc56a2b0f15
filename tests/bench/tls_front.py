"""An HTTPS front for the reference server in benchmarks and tests: nginx (Debian's nginx-light) on
loopback with a self-signed certificate, speaking HTTP/2 (and HTTP/1.1) to clients and proxying
every request to the reference server over kept-alive HTTP/1.1 connections, the way Seafile
servers are deployed behind nginx (X-Forwarded-Proto tells the server to answer with https
download links). It offers TLS 1.3 as well as 1.2 (`ssl_protocols TLSv1.2 TLSv1.3;`): Debian's
nginx 1.22 offers only up to 1.2 by default, whose handshake takes two round trips where real
servers' TLS 1.3 takes one, which made every new connection in the benchmarks a round trip
dearer than on a real server. Each request's protocol (HTTP/2.0 or HTTP/1.1) and the serial
number of the connection it came over go to workdir/access.log, a line each (no paths: download
links carry tokens).

  with nginx_front(server.url, workdir) as (url, ca_file): ...  # url = https://127.0.0.1:PORT
"""
import contextlib
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from seafserver.testing import signal_with_parent  # noqa: E402
from test_net_tls import self_signed  # noqa: E402

CONFIG = """\
daemon off;
master_process off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format protocol '$server_protocol $connection';
    access_log {work}/access.log protocol;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    upstream seafile {{
        server {backend};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 0;
        location / {{
            proxy_pass http://seafile;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_request_buffering off;
            proxy_read_timeout 3600s;
        }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process, log, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("nginx exited: %s" % log.read_text(errors="replace"))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


@contextlib.contextmanager
def nginx_front(backend_url, workdir):
    """(https URL, CA file) of an nginx proxying to backend_url (http://host:port) while the
    context lasts; workdir receives its configuration, certificate and logs."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not pathlib.Path(nginx).exists():
        sys.exit("nginx missing: apt-get install nginx-light (packaging/install-deps.sh)")
    work = pathlib.Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(work)
    port = free_port()
    backend = urllib.parse.urlsplit(backend_url).netloc
    conf = work / "nginx.conf"
    conf.write_text(CONFIG.format(work=work, port=port, backend=backend, cert=cert, key=key))
    log = work / "error.log"
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=signal_with_parent(signal.SIGKILL))
    try:
        wait_listening(port, process, log)
        yield "https://127.0.0.1:%d" % port, cert
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
