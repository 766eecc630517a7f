//! HTTPS as a user meets it, against a real TLS server (Python's `ssl`,
//! OpenSSL underneath) with a certificate from a throw-away CA made by the
//! `openssl` command: verified against the platform's roots (which
//! `SSL_CERT_FILE` replaces, as for curl and Python), refused when the CA is
//! unknown unless `insecure: true`, and the certificate store read only when
//! a request uses TLS.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command as Std, Output, Stdio};

use crate::support::{self, text, write_checkpoint};
use assert_cmd::Command;

/// The real process: where the certificate store is read from is the
/// process environment's business (`SSL_CERT_FILE`), end to end.
fn checkpoint() -> Command {
    let mut c = support::spawned();
    c.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    c
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Std::new("openssl").args(args).current_dir(dir).output().expect("the openssl command");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// `openssl req` with a new unencrypted P-256 key written to `key`: `front`
/// before the key options, `rest` after them (how the CA and the leaf are both made).
fn request_with_new_key(dir: &Path, front: &[&str], key: &str, rest: &[&str]) {
    let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key];
    openssl(dir, &[&["req"][..], front, &new_key, rest].concat());
}

/// A CA (`ca.pem`) and a certificate it signed for localhost/127.0.0.1.
fn certificates(dir: &Path) {
    request_with_new_key(
        dir,
        &["-x509"],
        "ca.key",
        &[
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=checkpoint test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ],
    );
    request_with_new_key(dir, &[], "leaf.key", &["-out", "leaf.csr", "-subj", "/CN=localhost"]);
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    );
}

/// An HTTPS server answering `200 ok` to every GET; killed on drop.
struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn https_server(dir: &Path) -> Server {
    let script = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("leaf.pem", "leaf.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;
    let mut child =
        Std::new("python3").args(["-c", script]).current_dir(dir).stdout(Stdio::piped()).spawn().expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| panic!("the server's port, got {line:?}"));
    Server(child, port)
}

fn https_checkpoint(port: u16) -> String {
    format!(
        r#"checkpoint: 1
title: TLS
gates:
  - id: verified
    title: The certificate is verified
    checks:
      - name: get
        http: {{ url: "https://localhost:{port}/" }}
        expect: {{ status: 200, body: ok }}
  - id: insecure
    title: insecure skips verification
    checks:
      - name: get
        http: {{ url: "https://127.0.0.1:{port}/", insecure: true }}
        expect: {{ status: 200 }}
"#
    )
}

/// `checkpoint run 1` in `dir` with `store` as the certificate store
/// (`SSL_CERT_FILE`; none: the system's); its output and `results.json`.
fn run(dir: &Path, store: Option<&str>) -> (Output, serde_json::Value) {
    let mut c = checkpoint();
    if let Some(file) = store {
        c.env("SSL_CERT_FILE", dir.join(file));
    }
    let o = c.current_dir(dir).args(["run", "1", "--out", "out"]).output().unwrap();
    let json = std::fs::read_to_string(dir.join("out/results.json"))
        .unwrap_or_else(|e| panic!("no out/results.json ({e}):\n{}", text(&o)));
    (o, serde_json::from_str(&json).unwrap())
}

fn gate<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["gates"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap()
}

#[test]
fn a_certificate_from_a_trusted_ca_passes_an_unknown_ca_fails_and_insecure_skips_verification() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let server = https_server(dir.path());
    write_checkpoint(dir.path(), "1.yaml", &https_checkpoint(server.1));

    // The test CA trusted (SSL_CERT_FILE replaces the system store): both pass.
    let (o, _) = run(dir.path(), Some("ca.pem"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The system store, which does not know the test CA: refused, with the reason.
    let (o, r) = run(dir.path(), None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let verified = gate(&r, "verified");
    assert_eq!(verified["status"], "failed", "{verified:#}");
    let reason = verified["reason"].as_str().unwrap();
    assert!(reason.contains("certificate"), "the reason names the certificate: {reason}");
    assert_eq!(gate(&r, "insecure")["status"], "passed", "{:#}", gate(&r, "insecure"));
}

#[test]
fn a_run_without_tls_never_reads_the_certificate_store() {
    // A store that cannot be read: a run whose requests are all plain HTTP
    // must not notice (the roots are loaded on the first TLS handshake).
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    write_checkpoint(
        dir.path(),
        "1.yaml",
        &format!(
            r#"checkpoint: 1
title: Plain HTTP
gates:
  - id: plain
    title: Plain HTTP
    checks:
      - name: get
        http: {{ url: "http://127.0.0.1:{port}/" }}
        expect: {{ status: 200 }}
  - id: tls
    title: TLS with no roots to verify against
    checks:
      - name: get
        http: {{ url: "https://127.0.0.1:1/" }}
"#
        ),
    );
    let (o, r) = run(dir.path(), Some("no-such-store.pem"));
    assert_eq!(gate(&r, "plain")["status"], "passed", "{:#}", gate(&r, "plain"));
    // The https check fails on what it met (nothing listens), not on the
    // store: no client is refused for a store no request needed.
    let tls = gate(&r, "tls");
    assert_eq!(tls["status"], "failed", "{tls:#}\n{}", text(&o));
    assert!(tls["reason"].as_str().unwrap().contains("connection refused"), "{tls:#}");
}
