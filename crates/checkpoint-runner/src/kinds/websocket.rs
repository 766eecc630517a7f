//! `websocket`: connect (with headers and subprotocols, over TLS for `wss://`), send messages
//! in order, then read until enough messages match or the window closes. The evidence is the
//! message log, both directions, with each message's time since the connection opened.
//!
//! A session is opened first and read later, so checks nested under it (`during:`) can cause
//! the messages it waits for; what arrives meanwhile waits in the socket.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::observe::ObserveError;

/// Longest message text kept in the log.
const LOG_TEXT: usize = 512;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What to connect to and say, after interpolation.
#[derive(Debug, Default)]
pub(crate) struct Connect<'a> {
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub subprotocols: &'a [String],
    /// Text frames sent right after the handshake, in order.
    pub send: &'a [String],
}

/// One line of the message log.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub at: Duration,
    pub outgoing: bool,
    pub text: String,
}

/// An open connection and what crossed it.
pub(crate) struct Session {
    socket: WebSocketStream<Box<dyn Io>>,
    opened: Instant,
    pub url: String,
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    pub log: Vec<Logged>,
    /// Messages received (text and binary, parsed as JSON where they are JSON).
    pub received: Vec<Value>,
    /// The close frame's code, when the server closed the connection.
    pub close_code: Option<u16>,
    pub closed: bool,
}

/// Connects, completes the handshake and sends `send`.
pub(crate) async fn open(request: &Connect<'_>) -> Result<Session, ObserveError> {
    let url = request.url;
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ObserveError::Errored(format!("`{url}` is not a WebSocket URL: {e}")))?;
    let tls = match parsed.scheme() {
        "ws" => false,
        "wss" => true,
        other => return Err(ObserveError::Errored(format!("`{url}`: the scheme must be ws or wss, not {other}"))),
    };
    let host = parsed.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = parsed.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
    let mut handshake =
        url.into_client_request().map_err(|e| ObserveError::Errored(format!("`{url}`: invalid request: {e}")))?;
    for (name, value) in request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ObserveError::Errored(format!("`{name}` is not a valid header name")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ObserveError::Errored(format!("the value of header `{name}` is not valid in a header")))?;
        handshake.headers_mut().append(name, value);
    }
    if !request.subprotocols.is_empty() {
        let list = request.subprotocols.join(", ");
        let value = HeaderValue::from_str(&list)
            .map_err(|_| ObserveError::Errored(format!("`{list}` is not a valid subprotocol list")))?;
        handshake.headers_mut().insert("sec-websocket-protocol", value);
    }

    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| ObserveError::failed(format!("cannot connect to {url}: {e}"), format!("connect {url}\n→ {e}")))?;
    let _ = tcp.set_nodelay(true);
    let stream: Box<dyn Io> = if tls {
        let mut config = crate::tls::client_config().map_err(ObserveError::Errored)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|_| ObserveError::Errored(format!("`{host}` is not a valid TLS server name")))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        Box::new(connector.connect(name, tcp).await.map_err(|e| {
            ObserveError::failed(format!("TLS handshake with {url} failed: {e}"), format!("connect {url}\n→ TLS: {e}"))
        })?)
    } else {
        Box::new(tcp)
    };
    let (socket, response) = tokio_tungstenite::client_async(handshake, stream).await.map_err(|e| refused(url, e))?;
    let protocol =
        response.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(ToString::to_string);
    let mut session = Session {
        socket,
        opened: Instant::now(),
        url: url.to_string(),
        protocol,
        log: Vec::new(),
        received: Vec::new(),
        close_code: None,
        closed: false,
    };
    for text in request.send {
        session.log(true, text);
        session.socket.send(Message::text(text.as_str())).await.map_err(|e| {
            ObserveError::failed(format!("{url}: sending failed: {e}"), session.transcript(&format!("→ {e}")))
        })?;
    }
    Ok(session)
}

fn refused(url: &str, e: tungstenite::Error) -> ObserveError {
    match e {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            ObserveError::failed(
                format!("{url} refused the WebSocket upgrade: {status}"),
                format!("GET {url} (Upgrade: websocket)\n← {status}\n{}", crate::observe::excerpt(&body, 1024)),
            )
        }
        other => ObserveError::failed(
            format!("WebSocket handshake with {url} failed: {other}"),
            format!("GET {url}\n→ {other}"),
        ),
    }
}

impl Session {
    fn log(&mut self, outgoing: bool, text: &str) {
        let text = crate::observe::excerpt(text, LOG_TEXT);
        self.log.push(Logged { at: self.opened.elapsed(), outgoing, text });
    }

    /// Reads until `enough` says the messages so far suffice, the server closes, or `until`.
    /// Returns how long it read.
    pub(crate) async fn read(&mut self, until: Instant, mut enough: impl FnMut(&[Value]) -> bool) -> Duration {
        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(until);
        while !self.closed && !enough(&self.received) {
            let Ok(next) = tokio::time::timeout_at(deadline, self.socket.next()).await else { break };
            match next {
                Some(Ok(Message::Text(text))) => {
                    self.log(false, text.as_str());
                    self.received
                        .push(serde_json::from_str(text.as_str()).unwrap_or_else(|_| Value::String(text.to_string())));
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.log(false, &format!("(binary, {} bytes) {text}", bytes.len()));
                    self.received.push(serde_json::from_str(&text).unwrap_or(Value::String(text)));
                }
                Some(Ok(Message::Close(frame))) => {
                    self.note_close(frame.as_ref());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.log(false, &format!("(error: {e})"));
                    self.closed = true;
                }
                None => {
                    self.log(false, "(connection closed without a close frame)");
                    self.closed = true;
                }
            }
        }
        started.elapsed()
    }

    fn note_close(&mut self, frame: Option<&CloseFrame>) {
        self.close_code = frame.map(|f| u16::from(f.code));
        let line = match frame {
            Some(f) if f.reason.is_empty() => format!("(closed by the server: {})", u16::from(f.code)),
            Some(f) => format!("(closed by the server: {} {})", u16::from(f.code), f.reason),
            None => "(closed by the server)".to_string(),
        };
        self.log(false, &line);
        self.closed = true;
    }

    /// Closes politely (code 1000), waiting briefly for the server's answer.
    pub(crate) async fn close(&mut self) {
        if self.closed {
            return;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.socket.close(None)).await;
        self.closed = true;
    }

    /// The connection line and the message log, ending with `last`.
    pub(crate) fn transcript(&self, last: &str) -> String {
        let mut out = format!("connected to {}", self.url);
        if let Some(p) = &self.protocol {
            let _ = write!(out, " (subprotocol {p})");
        }
        out.push('\n');
        for line in &self.log {
            let arrow = if line.outgoing { "→" } else { "←" };
            let _ = writeln!(out, "{arrow} [{:>6.1} ms] {}", line.at.as_secs_f64() * 1000.0, line.text);
        }
        out.push_str(last);
        out
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::ws::{CloseFrame as AxumClose, Message as AxumMessage, WebSocketUpgrade};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse as _;
    use serde_json::json;

    use super::*;

    /// A real axum WebSocket endpoint: needs a bearer token, speaks subprotocol `v1`, answers
    /// each text it receives with `{"echo": …}`, then sends two job events and closes with 4000.
    async fn server() -> String {
        let quiet = axum::routing::get(|upgrade: WebSocketUpgrade| async move {
            upgrade.on_upgrade(|mut socket| async move { while socket.recv().await.is_some() {} })
        });
        let app = axum::Router::new().route("/quiet", quiet).route(
            "/ws",
            axum::routing::get(|headers: HeaderMap, upgrade: WebSocketUpgrade| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer t0k") {
                    return (StatusCode::UNAUTHORIZED, "no token").into_response();
                }
                upgrade
                    .protocols(["v1"])
                    .on_upgrade(|mut socket| async move {
                        if let Some(Ok(AxumMessage::Text(text))) = socket.recv().await {
                            let echo = json!({ "echo": text.as_str() }).to_string();
                            let _ = socket.send(AxumMessage::Text(echo.into())).await;
                        }
                        for status in ["running", "processed"] {
                            let event = json!({ "id": "j1", "status": status }).to_string();
                            let _ = socket.send(AxumMessage::Text(event.into())).await;
                        }
                        let close = AxumClose { code: 4000, reason: "done".into() };
                        let _ = socket.send(AxumMessage::Close(Some(close))).await;
                    })
                    .into_response()
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("ws://{addr}/ws")
    }

    #[tokio::test]
    async fn sends_then_reads_until_enough_and_logs_both_directions() {
        let url = server().await;
        let headers = vec![("Authorization".to_string(), "Bearer t0k".to_string())];
        let (protocols, send) = (vec!["v1".to_string()], vec!["hello".to_string()]);
        let request = Connect { url: &url, headers: &headers, subprotocols: &protocols, send: &send };
        let mut session = open(&request).await.unwrap();
        assert_eq!(session.protocol.as_deref(), Some("v1"));
        session
            .read(Instant::now() + Duration::from_secs(5), |got| got.iter().any(|m| m["status"] == "processed"))
            .await;
        assert_eq!(session.received[0], json!({"echo": "hello"}));
        assert_eq!(session.received.len(), 3, "stops reading once enough arrived");
        // Reading on sees the server's close code.
        session.read(Instant::now() + Duration::from_secs(5), |_| false).await;
        assert_eq!(session.close_code, Some(4000));
        let transcript = session.transcript("");
        assert!(transcript.starts_with(&format!("connected to {url} (subprotocol v1)\n→ [")), "{transcript}");
        assert!(transcript.contains("] hello\n← ["), "{transcript}");
        assert!(transcript.contains("(closed by the server: 4000 done)"), "{transcript}");
    }

    #[tokio::test]
    async fn a_refused_upgrade_and_a_closed_port_fail_with_the_cause() {
        let url = server().await;
        let request = Connect { url: &url, ..Connect::default() };
        let Err(ObserveError::Failed { message, evidence }) = open(&request).await else { panic!("must fail") };
        assert_eq!(message, format!("{url} refused the WebSocket upgrade: 401 Unauthorized"));
        assert!(evidence.contains("no token"), "{evidence}");

        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let url = format!("ws://{closed}/ws");
        let Err(ObserveError::Failed { message, .. }) = open(&Connect { url: &url, ..Connect::default() }).await else {
            panic!("must fail")
        };
        assert!(message.starts_with(&format!("cannot connect to {url}: ")), "{message}");
        assert!(message.to_lowercase().contains("refused"), "{message}");
    }

    #[tokio::test]
    async fn the_window_bounds_the_wait_on_a_quiet_socket() {
        let url = server().await.replace("/ws", "/quiet");
        let mut session = open(&Connect { url: &url, ..Connect::default() }).await.unwrap();
        let read = session.read(Instant::now() + Duration::from_millis(300), |got| !got.is_empty()).await;
        assert!(read >= Duration::from_millis(250) && read < Duration::from_secs(2), "{read:?}");
        assert!(session.received.is_empty() && !session.closed);
        session.close().await;
        assert!(session.closed);
    }
}
