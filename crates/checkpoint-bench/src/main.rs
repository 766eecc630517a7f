//! `checkpoint-bench`: the pieces of `scripts/bench.sh`.
//!
//! - `serve PORT [DELAY_MS]`: a local HTTP target answering `/health` with a
//!   small JSON body, after `DELAY_MS` milliseconds (default 0) — a fixed
//!   delay makes a latency benchmark's p95 the server's, not noise.
//! - `bare URL N C`: N GETs at concurrency C with a plain reqwest loop (the
//!   baseline the harness is compared with); prints wall time and requests/s.
//! - `gen DIR URL N C`: writes `DIR/checkpoints/1.yaml` with N http checks
//!   spread over C gates, so `checkpoint run 1 --jobs C` has C in flight.
//! - `gen-hurl DIR URL N FILES`: writes the same N requests as `gen` for Hurl,
//!   as `DIR/hurl/NNN.hurl`, FILES files of N/FILES entries each (`GET URL`,
//!   `HTTP 200`, `jsonpath "$.status" == "ok"`), so `hurl --test --jobs C`
//!   runs what `checkpoint run --jobs C` does (`scripts/bench-hurl.sh`).
//! - `gen-latency DIR URL CONCURRENCY SECONDS`: writes `DIR/checkpoints/1.yaml`
//!   with one `latency` check of URL at that concurrency for that long
//!   (`scripts/bench-latency.sh` compares it with wrk).

use std::time::Instant;

use futures::StreamExt as _;

#[tokio::main]
async fn main() {
    checkpoint_runner::init_tls();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("serve") => {
            let delay = args.get(2).map_or(0, |d| d.parse().unwrap_or_else(|_| usage()));
            serve(arg(1).parse().unwrap_or_else(|_| usage()), delay).await;
        }
        Some("bare") => {
            bare(&arg(1), arg(2).parse().unwrap_or_else(|_| usage()), arg(3).parse().unwrap_or_else(|_| usage())).await;
        }
        Some("gen") => generate(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or_else(|_| usage()),
            arg(4).parse().unwrap_or_else(|_| usage()),
        ),
        Some("gen-hurl") => generate_hurl(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or_else(|_| usage()),
            arg(4).parse().unwrap_or_else(|_| usage()),
        ),
        Some("gen-latency") => generate_latency(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or_else(|_| usage()),
            arg(4).parse().unwrap_or_else(|_| usage()),
        ),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: checkpoint-bench serve PORT [DELAY_MS] | bare URL N CONCURRENCY | gen DIR URL N CONCURRENCY \
         | gen-hurl DIR URL N FILES | gen-latency DIR URL CONCURRENCY SECONDS"
    );
    std::process::exit(2)
}

async fn serve(port: u16, delay_ms: u64) {
    let delay = std::time::Duration::from_millis(delay_ms);
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            axum::Json(serde_json::json!({"status": "ok", "components": {"database": {"status": "healthy"}}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

async fn bare(url: &str, n: usize, c: usize) {
    let client = reqwest::Client::builder().build().expect("client");
    let started = Instant::now();
    let ok = futures::stream::iter(0..n)
        .map(|_| {
            let client = client.clone();
            async move {
                match client.get(url).send().await {
                    // Read and parse the body, as the harness does.
                    Ok(r) if r.status().is_success() => r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .is_some(),
                    _ => false,
                }
            }
        })
        .buffer_unordered(c)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let secs = started.elapsed().as_secs_f64();
    println!("bare: {ok}/{n} ok in {secs:.3}s, {:.0} req/s", n as f64 / secs);
    if ok != n {
        std::process::exit(1);
    }
}

fn generate(dir: &str, url: &str, n: usize, c: usize) {
    let cps = std::path::Path::new(dir).join("checkpoints");
    std::fs::create_dir_all(&cps).expect("mkdir");
    let mut y = String::from("checkpoint: 1\ntitle: Benchmark\ngates:\n");
    let per = n.div_ceil(c);
    let mut made = 0;
    for g in 0..c {
        y.push_str(&format!("  - id: g{g}\n    title: Gate {g}\n    checks:\n"));
        for k in 0..per {
            if made == n {
                break;
            }
            y.push_str(&format!(
                "      - name: c{k}\n        http: {{ url: \"{url}\" }}\n        expect: {{ status: 200, json: {{ $.status: ok }} }}\n"
            ));
            made += 1;
        }
    }
    std::fs::write(cps.join("1.yaml"), y).expect("write");
}

fn generate_hurl(dir: &str, url: &str, n: usize, files: usize) {
    let out = std::path::Path::new(dir).join("hurl");
    std::fs::create_dir_all(&out).expect("mkdir");
    // The same split as `generate`: N/FILES per file, the last ones shorter when it does not divide.
    let per = n.div_ceil(files);
    let mut made = 0;
    for f in 0..files {
        let mut h = String::new();
        for _ in 0..per {
            if made == n {
                break;
            }
            h.push_str(&format!("GET {url}\nHTTP 200\n[Asserts]\njsonpath \"$.status\" == \"ok\"\n\n"));
            made += 1;
        }
        std::fs::write(out.join(format!("{f:03}.hurl")), h).expect("write");
    }
}

fn generate_latency(dir: &str, url: &str, c: usize, secs: u64) {
    let cps = std::path::Path::new(dir).join("checkpoints");
    std::fs::create_dir_all(&cps).expect("mkdir");
    let y = format!(
        "checkpoint: 1\ntitle: Latency benchmark\ngates:\n  - id: p95\n    title: P95 response time < 200ms\n    checks:\n      \
         - name: GET {url}\n        latency: {{ url: \"{url}\", duration: {secs}s, concurrency: {c} }}\n        \
         expect: {{ p95: {{ lt: 200ms }} }}\n"
    );
    std::fs::write(cps.join("1.yaml"), y).expect("write");
}
