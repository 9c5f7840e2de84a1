//! The `StreamFramer` on arbitrary streams split into arbitrary reads.
//!
//! Input layout: byte 0 gives `k = byte0 % 8` chunk-size bytes that follow (each read is
//! `4 * b + 1` bytes, cycled); the rest is the stream. It is framed in one read and in
//! those reads (size bytes of 0 give one-byte reads). Asserts that the frames (and any
//! error) do not depend on the split, that the framer holds less than one maximal
//! message after an error-free `Ok(None)`, and that the parser agrees with the framer on
//! where each message's body ends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeline_sip::framing::{Frame, FramingError, StreamFramer};
use lifeline_sip::parse::{MAX_BODY, MAX_HEAD, find_head_end};
use lifeline_sip::{Message, Transport, parse};

fn frame(stream: &[u8], chunks: &[usize]) -> (Vec<Frame>, Option<FramingError>) {
    let mut f = StreamFramer::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = sizes
            .next()
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        f.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match f.next_frame() {
                Ok(Some(fr)) => frames.push(fr),
                Ok(None) => {
                    assert!(
                        f.buffered() < MAX_HEAD + 4 + MAX_BODY,
                        "holds {}",
                        f.buffered()
                    );
                    break;
                }
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(first % 8).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let chunks: Vec<usize> = sizes.iter().map(|b| 4 * usize::from(*b) + 1).collect();
    let whole = frame(stream, &[stream.len().max(1)]);
    let pieces = frame(stream, &chunks);
    assert_eq!(pieces, whole, "framing depends on how the stream was read");
    for fr in &whole.0 {
        let Frame::Message(bytes) = fr else { continue };
        let head_end = find_head_end(bytes).expect("a frame holds a whole head");
        if let Ok(msg) = parse(bytes, Transport::Stream) {
            let body = match &msg {
                Message::Request(r) => r.body.len(),
                Message::Response(r) => r.body.len(),
            };
            assert_eq!(
                body,
                bytes.len() - head_end - 4,
                "parser and framer disagree"
            );
        }
        lifeline_fuzz::check_message(bytes);
    }
});
