//! Media for Lifeline: RTP packets and G.711, sans-IO.
//!
//! Like the SIP crate, nothing here touches sockets or the clock: the runtime decides
//! when a packet is due and where it goes. This crate owns the bytes.

pub mod g711;
pub mod rtp;
pub mod tone;
