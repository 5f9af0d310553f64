//! The web dashboard (docs/dashboard.md): pages embedded in the binary at build time, served on
//! their own port (`--dashboard`, 127.0.0.1 by default). The pages hold nothing of the party's:
//! they log in with the API token and read everything from the daemon's authenticated API over
//! WebSocket, so what they show is what the API says, and a page without the token shows
//! nothing. Nothing is loaded from another host (uPlot is vendored from the npm lockfile by
//! `scripts/dashboard-vendor.sh`).

use http::{header, Method, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Bytes;
use tokio::net::TcpListener;

/// Every asset: its path, content type and bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
	("/", "text/html; charset=utf-8", include_bytes!("../../dashboard/index.html")),
	("/app.js", "text/javascript; charset=utf-8", include_bytes!("../../dashboard/app.js")),
	("/style.css", "text/css; charset=utf-8", include_bytes!("../../dashboard/style.css")),
	(
		"/vendor/uPlot.iife.min.js",
		"text/javascript; charset=utf-8",
		include_bytes!("../../dashboard/vendor/uPlot.iife.min.js"),
	),
	(
		"/vendor/uPlot.min.css",
		"text/css; charset=utf-8",
		include_bytes!("../../dashboard/vendor/uPlot.min.css"),
	),
];

/// The name or IPv4 address of a `Host` header, if it is only that (it goes into a header and a
/// URL); 127.0.0.1 otherwise.
fn host_of(host: Option<&str>) -> &str {
	let host = host.unwrap_or_default();
	let name = match host.rsplit_once(':') {
		Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
		_ => host,
	};
	let plain = !name.is_empty()
		&& name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
	if plain {
		name
	} else {
		"127.0.0.1"
	}
}

/// The answer to `method path` from a page loaded from `host`, with the API on `api_port`.
/// Pure: every route and header is unit-tested.
pub fn respond(
	method: &Method,
	path: &str,
	host: Option<&str>,
	api_port: u16,
) -> Response<Vec<u8>> {
	let api = format!("ws://{}:{api_port}", host_of(host));
	let found = if path == "/config.json" {
		Some(("application/json", serde_json::json!({ "api": api }).to_string().into_bytes()))
	} else {
		ASSETS
			.iter()
			.find(|(route, ..)| *route == path || (*route == "/" && path == "/index.html"))
			.map(|(_, kind, bytes)| (*kind, bytes.to_vec()))
	};
	let (status, kind, body) = match (method, found) {
		(&Method::GET | &Method::HEAD, Some((kind, body))) => (StatusCode::OK, kind, body),
		(&Method::GET | &Method::HEAD, None) => {
			(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", b"not found\n".to_vec())
		}
		_ => (
			StatusCode::METHOD_NOT_ALLOWED,
			"text/plain; charset=utf-8",
			b"the dashboard only serves GET\n".to_vec(),
		),
	};
	let body = if method == Method::HEAD { Vec::new() } else { body };
	Response::builder()
		.status(status)
		.header(header::CONTENT_TYPE, kind)
		// Scripts, styles and connections from this page and the daemon's API only: no other
		// host, no inline script, no framing by another page.
		.header(
			header::CONTENT_SECURITY_POLICY,
			format!(
				"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
				 connect-src 'self' {api}; base-uri 'none'; form-action 'none'; \
				 frame-ancestors 'none'"
			),
		)
		.header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
		.header(header::REFERRER_POLICY, "no-referrer")
		.header(header::CACHE_CONTROL, "no-store")
		.body(body)
		.expect("a valid response")
}

/// Serves the dashboard on `listener` until the daemon stops.
pub async fn serve(listener: TcpListener, api_port: u16) {
	loop {
		let Ok((stream, _)) = listener.accept().await else { continue };
		tokio::spawn(async move {
			let service = hyper::service::service_fn(move |request: http::Request<_>| {
				let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok());
				let response = respond(request.method(), request.uri().path(), host, api_port);
				async move {
					Ok::<_, std::convert::Infallible>(
						response.map(|body| Full::new(Bytes::from(body))),
					)
				}
			});
			let io = hyper_util::rt::TokioIo::new(stream);
			let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
		});
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn get(path: &str) -> Response<Vec<u8>> {
		respond(&Method::GET, path, Some("127.0.0.1:9738"), 9737)
	}

	#[test]
	fn every_asset_is_served_with_its_type_and_nothing_else() {
		for (path, kind) in [
			("/", "text/html; charset=utf-8"),
			("/index.html", "text/html; charset=utf-8"),
			("/app.js", "text/javascript; charset=utf-8"),
			("/style.css", "text/css; charset=utf-8"),
			("/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"),
			("/vendor/uPlot.min.css", "text/css; charset=utf-8"),
		] {
			let response = get(path);
			assert_eq!(response.status(), StatusCode::OK, "{path}");
			assert_eq!(response.headers()[header::CONTENT_TYPE], kind, "{path}");
			assert!(!response.body().is_empty(), "{path}");
		}
		assert_eq!(get("/api.cookie").status(), StatusCode::NOT_FOUND);
		assert_eq!(get("/../Cargo.toml").status(), StatusCode::NOT_FOUND);
		let post = respond(&Method::POST, "/", None, 9737);
		assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
	}

	#[test]
	fn the_page_learns_where_the_api_is_and_may_connect_nowhere_else() {
		let config: serde_json::Value = serde_json::from_slice(get("/config.json").body()).unwrap();
		assert_eq!(config, serde_json::json!({ "api": "ws://127.0.0.1:9737" }));
		let policy =
			get("/").headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
		assert!(policy.contains("connect-src 'self' ws://127.0.0.1:9737;"), "{policy}");
		assert!(policy.contains("script-src 'self';") && policy.contains("frame-ancestors 'none'"));
		// A forged Host header cannot put anything else in the policy.
		let forged = respond(&Method::GET, "/", Some("evil.example; script-src *"), 9737);
		let policy = forged.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
		assert!(policy.contains("connect-src 'self' ws://127.0.0.1:9737;"), "{policy}");
		let named = respond(&Method::GET, "/config.json", Some("paychan.local:80"), 9737);
		let config: serde_json::Value = serde_json::from_slice(named.body()).unwrap();
		assert_eq!(config["api"], "ws://paychan.local:9737");
	}

	#[test]
	fn the_pages_load_nothing_from_another_host() {
		for (path, _, bytes) in ASSETS.iter().filter(|(path, ..)| !path.starts_with("/vendor")) {
			// The SVG namespace is a name, not something loaded.
			let text =
				std::str::from_utf8(bytes).unwrap().replace("http://www.w3.org/2000/svg", "");
			for remote in ["http://", "https://", "//cdn", "fonts.googleapis"] {
				assert!(!text.contains(remote), "{path} refers to {remote}");
			}
		}
	}
}
