//! The daemon API's request decoder: any method name and any parameter text (well-formed JSON
//! or not, wrong types, unknown fields, amounts past `u128`) gets an answer, never a panic, and
//! a refusal carries one of the stable codes (`-32602` for parameters, `-32601` for methods).

#![no_main]

use libfuzzer_sys::fuzz_target;
use paychan_client::daemon::api::{decode_params, METHODS};

fuzz_target!(|data: &[u8]| {
	let Some((&which, rest)) = data.split_first() else { return };
	let Ok(text) = std::str::from_utf8(rest) else { return };
	// Mostly a real method; sometimes the text's first line names one (unknown ones included).
	let (method, params) = match METHODS.get(usize::from(which)) {
		Some(method) => (*method, text),
		None => text.split_once('\n').unwrap_or((text, "")),
	};
	let params = (!params.is_empty()).then_some(params);
	if let Err(refused) = decode_params(method, params) {
		assert!(
			[-32602, -32601].contains(&refused.code()),
			"{method}: unexpected code {} ({})",
			refused.code(),
			refused.message()
		);
		if METHODS.contains(&method) {
			assert_eq!(refused.code(), -32602, "{method}: {}", refused.message());
		}
	}
});
