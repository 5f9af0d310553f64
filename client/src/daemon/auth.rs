//! The API's cookie authentication, as bitcoind's `.cookie`: at start the daemon writes a fresh
//! random token to `api.cookie` in its data directory, readable by its owner only (mode 0600),
//! and every request must carry it, as `Authorization: Bearer <token>` or, for browsers, whose
//! WebSocket API cannot set headers, as the query `?token=<token>`. A request without it gets
//! HTTP 401 with a JSON-RPC error and reaches no method.

use anyhow::{Context, Result};
use futures::{future::BoxFuture, FutureExt};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::{
	io::Write,
	os::unix::fs::OpenOptionsExt,
	path::Path,
	sync::Arc,
	task::{Context as TaskContext, Poll},
};

/// The JSON-RPC error code of a request without the right token.
pub const UNAUTHORIZED: i32 = -32001;

/// Writes a new random token to `path` (mode 0600, replacing an old cookie) and returns it.
pub fn write_cookie(path: &Path) -> Result<String> {
	let token = hex::encode(rand::random::<[u8; 32]>());
	let temporary = path.with_extension("new");
	let _ = std::fs::remove_file(&temporary);
	let mut file = std::fs::OpenOptions::new()
		.write(true)
		.create_new(true)
		.mode(0o600)
		.open(&temporary)
		.with_context(|| format!("cannot write the API cookie {}", temporary.display()))?;
	file.write_all(token.as_bytes())?;
	file.sync_all()?;
	std::fs::rename(&temporary, path)?;
	Ok(token)
}

/// Reads the token a running daemon wrote.
pub fn read_cookie(path: &Path) -> Result<String> {
	let token = std::fs::read_to_string(path).with_context(|| {
		format!("cannot read the API cookie {} (is the daemon running?)", path.display())
	})?;
	Ok(token.trim().to_owned())
}

/// Whether `request` carries `token`.
fn authorized<B>(request: &HttpRequest<B>, token: &str) -> bool {
	let header = request
		.headers()
		.get(http::header::AUTHORIZATION)
		.and_then(|value| value.to_str().ok())
		.and_then(|value| value.strip_prefix("Bearer "))
		.map(str::trim);
	let query = request
		.uri()
		.query()
		.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("token=")));
	[header, query].into_iter().flatten().any(|offered| constant_time_eq(offered, token))
}

/// Compares without stopping at the first difference, so timing says nothing of the token.
fn constant_time_eq(a: &str, b: &str) -> bool {
	a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> HttpResponse {
	let body = serde_json::json!({
		"jsonrpc": "2.0",
		"error": {
			"code": UNAUTHORIZED,
			"message": "unauthorized: send the token of the daemon's api.cookie as `Authorization: \
						Bearer <token>` (or `?token=<token>`)",
		},
		"id": null,
	});
	http::Response::builder()
		.status(http::StatusCode::UNAUTHORIZED)
		.header(http::header::CONTENT_TYPE, "application/json; charset=utf-8")
		.body(HttpBody::from(body.to_string()))
		.expect("a valid response")
}

/// The tower layer that refuses requests without the token.
#[derive(Clone)]
pub struct CookieAuthLayer {
	token: Arc<str>,
}

impl CookieAuthLayer {
	pub fn new(token: String) -> CookieAuthLayer {
		CookieAuthLayer { token: token.into() }
	}
}

impl<S> tower::Layer<S> for CookieAuthLayer {
	type Service = CookieAuth<S>;
	fn layer(&self, inner: S) -> CookieAuth<S> {
		CookieAuth { inner, token: self.token.clone() }
	}
}

/// [`CookieAuthLayer`]'s service.
#[derive(Clone)]
pub struct CookieAuth<S> {
	inner: S,
	token: Arc<str>,
}

impl<S, B> tower::Service<HttpRequest<B>> for CookieAuth<S>
where
	S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
	S::Error: Into<jsonrpsee::core::BoxError> + 'static,
	S::Future: Send + 'static,
{
	type Response = HttpResponse;
	type Error = jsonrpsee::core::BoxError;
	type Future = BoxFuture<'static, Result<HttpResponse, Self::Error>>;

	fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
		self.inner.poll_ready(cx).map_err(Into::into)
	}

	fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
		if authorized(&request, &self.token) {
			self.inner.call(request).map(|result| result.map_err(Into::into)).boxed()
		} else {
			async { Ok(unauthorized()) }.boxed()
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn request(header: Option<&str>, uri: &str) -> HttpRequest<()> {
		let mut builder = http::Request::builder().uri(uri);
		if let Some(header) = header {
			builder = builder.header(http::header::AUTHORIZATION, header);
		}
		builder.body(()).unwrap()
	}

	#[test]
	fn only_requests_with_the_token_pass() {
		let token = "ab12";
		assert!(authorized(&request(Some("Bearer ab12"), "/"), token));
		assert!(authorized(&request(None, "/?token=ab12"), token));
		assert!(!authorized(&request(None, "/"), token));
		assert!(!authorized(&request(Some("Bearer ab13"), "/"), token));
		assert!(!authorized(&request(Some("Bearer ab1"), "/"), token));
		assert!(!authorized(&request(Some("Basic ab12"), "/"), token));
		assert!(!authorized(&request(None, "/?token=ab12x"), token));
	}

	#[test]
	fn the_cookie_is_private_to_its_owner_and_new_at_every_start() {
		use std::os::unix::fs::PermissionsExt;
		let dir = std::env::temp_dir().join(format!("paychan-cookie-{}", std::process::id()));
		std::fs::create_dir_all(&dir).unwrap();
		let path = dir.join("api.cookie");
		let first = write_cookie(&path).unwrap();
		let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
		assert_eq!(mode, 0o600);
		assert_eq!(read_cookie(&path).unwrap(), first);
		let second = write_cookie(&path).unwrap();
		assert_ne!(first, second);
		assert_eq!(first.len(), 64);
		std::fs::remove_dir_all(&dir).unwrap();
	}
}
