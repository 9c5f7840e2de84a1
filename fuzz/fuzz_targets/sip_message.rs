//! Any bytes through `parse` as a datagram and as a stream message; accepted messages
//! must survive `parse(encode(m))`, rejections must be answerable.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    lifeline_fuzz::check_message(data);
});
