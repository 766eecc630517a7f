//! `checkpoint-bench`: the pieces of `scripts/bench.sh`.
//!
//! - `serve PORT`: a local HTTP target answering `/health` with a small JSON body.
//! - `bare URL N C`: N GETs at concurrency C with a plain reqwest loop (the
//!   baseline the harness is compared with); prints wall time and requests/s.
//! - `gen DIR URL N C`: writes `DIR/checkpoints/1.yaml` with N http checks
//!   spread over C gates, so `checkpoint run 1 --jobs C` has C in flight.

use std::time::Instant;

use futures::StreamExt as _;

#[tokio::main]
async fn main() {
    checkpoint_runner::init_tls();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    match args.first().map(String::as_str) {
        Some("serve") => serve(arg(1).parse().unwrap_or_else(|_| usage())).await,
        Some("bare") => {
            bare(&arg(1), arg(2).parse().unwrap_or_else(|_| usage()), arg(3).parse().unwrap_or_else(|_| usage())).await
        }
        Some("gen") => generate(
            &arg(1),
            &arg(2),
            arg(3).parse().unwrap_or_else(|_| usage()),
            arg(4).parse().unwrap_or_else(|_| usage()),
        ),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: checkpoint-bench serve PORT | bare URL N CONCURRENCY | gen DIR URL N CONCURRENCY");
    std::process::exit(2)
}

async fn serve(port: u16) {
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async {
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
