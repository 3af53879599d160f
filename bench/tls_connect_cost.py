"""What a new TLS connection costs the client in CPU, against a request on a kept-alive one.

The load benchmark's fakes speak plain HTTP on loopback, so it cannot show what reusing connections saves in
production, where every Slack and Paddle call is HTTPS. This serves HTTPS from another process (a throwaway
self-signed certificate, ECDSA P-256 as Slack's and Paddle's fronts negotiate) and measures this process's CPU for
N requests: each on a new connection through slack-sdk's path (urllib), and all on one kept-alive connection
through urllib3 (bot/infra/http_pool.py's pool):

    .venv/bin/python -m bench.tls_connect_cost [--requests 300]
"""

from __future__ import annotations

import argparse
import datetime
import http.server
import multiprocessing
import os
import ssl
import tempfile
import time
import urllib.request
from pathlib import Path

import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(cert_file: Path, key_file: Path, port: multiprocessing.Value) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port.value = server.server_port
    server.serve_forever()


def cpu_ms_per_request(requests: int, call) -> float:
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = certificate(Path(folder))
        port = multiprocessing.Value("i", 0)
        server = multiprocessing.Process(target=serve, args=(cert_file, key_file, port), daemon=True)
        server.start()
        while not port.value:
            time.sleep(0.01)
        url = f"https://localhost:{port.value}/api/auth.test"
        context = ssl.create_default_context(cafile=str(cert_file))
        new_each = cpu_ms_per_request(
            args.requests, lambda: urllib.request.urlopen(url, context=context, timeout=5).read()
        )
        pool = urllib3.PoolManager(ssl_context=context)
        kept = cpu_ms_per_request(args.requests, lambda: pool.request("GET", url, timeout=5).data)
        server.terminate()
    print(
        f"client CPU per request: a new TLS connection each (urllib) {new_each:.3f} ms; "
        f"kept-alive (urllib3) {kept:.3f} ms"
    )
    print(f"a new TLS connection costs {new_each - kept:.3f} ms of client CPU")


if __name__ == "__main__":
    main()
