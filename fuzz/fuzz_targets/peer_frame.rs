//! Decoding of what a peer sends over a link (a frame's plaintext after Noise): the decoder
//! must never panic, must refuse every frame that is not exactly a version byte and a list of
//! messages, and what it accepts re-encodes to exactly the bytes it came from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use paychan_client::wire::{decode_frame, encode_frame};

fuzz_target!(|data: &[u8]| {
	if let Ok(messages) = decode_frame(data) {
		assert_eq!(encode_frame(&messages), data, "a frame re-encodes differently");
	}
});
