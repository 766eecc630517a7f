# shellcheck shell=bash
# Sourced by the benchmarks that measure HTTP checks against nginx
# (bench-hurl.sh, bench-ab.sh): `bench_nginx DIR` serves {"status":"ok"} at
# /health from nginx on loopback, with its own prefix, config, pid and logs in
# DIR; 2 workers, no access log, keep-alive without limit. Sets `nginx_pid`
# (the caller kills it) and `url`. Port: BENCH_PORT, else a free one.
bench_nginx() {
  local tmp=$1 port ng temp_paths="" m
  # Run as root, its workers run as nobody: they must be able to read DIR.
  chmod 755 "$tmp"
  port=${BENCH_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
  ng=$tmp/nginx
  mkdir -p "$ng/www"
  printf '{"status":"ok"}' >"$ng/www/health"
  for m in proxy fastcgi uwsgi scgi; do
    nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" || temp_paths+="  ${m}_temp_path $ng/${m}_temp;"$'\n'
  done
  cat >"$ng/nginx.conf" <<CONF
worker_processes 2;
pid $ng/nginx.pid;
error_log $ng/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 100000;
  client_body_temp_path $ng/body_temp;
$temp_paths
  server {
    listen 127.0.0.1:$port;
    root $ng/www;
    location = /health { default_type application/json; }
  }
}
CONF
  nginx -p "$ng" -c "$ng/nginx.conf" -e "$ng/error.log" -g 'daemon off;' &
  # shellcheck disable=SC2034 # the caller kills it
  nginx_pid=$!
  url="http://127.0.0.1:$port/health"
  for _ in $(seq 1 50); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
}
