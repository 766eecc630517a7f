//! `tcp`: a port accepts connections.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::TcpSpec;
use tokio::io::AsyncReadExt as _;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError};

pub struct Tcp;

/// How long a connection must stay open to count as a service's.
const PROXY_GRACE: Duration = Duration::from_millis(300);

#[async_trait]
impl CheckKind for Tcp {
    type Spec = TcpSpec;

    async fn observe(&self, spec: &TcpSpec, _ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&spec.address)).await {
            Ok(Ok(mut stream)) => {
                let elapsed = started.elapsed();
                let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                // Docker's proxy accepts every connection on a published port and
                // closes it at once when nothing listens in the container: a
                // connection that ends before anyone spoke is not a service.
                let mut byte = [0u8; 1];
                if let Ok(Ok(0)) = tokio::time::timeout(PROXY_GRACE, stream.read(&mut byte)).await {
                    return Err(ObserveError::failed(
                        format!(
                            "{} accepted the connection and closed it at once: nothing listens behind it",
                            spec.address
                        ),
                        format!(
                            "TCP connect to {} ({peer}) succeeded, then the connection was closed before anything was sent \
                             (on a published port, Docker's proxy does this when no process listens in the container)",
                            spec.address
                        ),
                    ));
                }
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
