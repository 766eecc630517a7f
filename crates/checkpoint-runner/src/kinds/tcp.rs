//! `tcp`: a port accepts connections.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::raw::TcpSpec;
use serde_json::Value;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, typed};

pub struct Tcp;

#[async_trait]
impl CheckKind for Tcp {
    fn name(&self) -> &'static str {
        "tcp"
    }

    async fn observe(&self, spec: &Value, _ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let spec: TcpSpec = typed(spec)?;
        let started = Instant::now();
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&spec.address)).await {
            Ok(Ok(stream)) => {
                let elapsed = started.elapsed();
                let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                Ok(Observation {
                    evidence: format!(
                        "connected to {} ({peer}) in {}",
                        spec.address,
                        checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
                    ),
                    ..Observation::default()
                }
                .duration(elapsed))
            }
            Ok(Err(e)) => Err(ObserveError::failed(
                format!("cannot connect to {}: {e}", spec.address),
                format!("TCP connect to {} failed: {e}", spec.address),
            )),
            Err(_) => Err(ObserveError::failed(
                format!("cannot connect to {}: no answer within {timeout:?}", spec.address),
                format!("TCP connect to {} timed out", spec.address),
            )),
        }
    }
}
