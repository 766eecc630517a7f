//! `tcp`: a TCP connection is accepted; its duration is the observation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Kind;

/// A TCP connection: `address: host:port`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    pub address: String,
}

impl Kind for TcpSpec {
    const NAME: &'static str = "tcp";
    const EXPECT: &'static [&'static str] = &["duration"];
}
