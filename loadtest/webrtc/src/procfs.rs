//! The kernel's UDP drop counters (/proc/net/udp).

/// Drops counted by the kernel on UDP sockets bound to 127.0.0.1 (/proc/net/udp): the
/// server's WebRTC port, the server's RTP range 20000–29999, and every other socket
/// (the generator's).
#[derive(Default, Clone, Copy)]
pub(crate) struct UdpDrops {
    pub(crate) webrtc: u64,
    pub(crate) rtp: u64,
    pub(crate) other: u64,
}

pub(crate) fn udp_drops(webrtc_port: Option<u16>) -> UdpDrops {
    let mut d = UdpDrops::default();
    let Ok(s) = std::fs::read_to_string("/proc/net/udp") else {
        return d;
    };
    for line in s.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
            continue;
        };
        let Some(port) = local
            .split(':')
            .nth(1)
            .and_then(|p| u16::from_str_radix(p, 16).ok())
        else {
            continue;
        };
        let drops: u64 = drops.parse().unwrap_or(0);
        if Some(port) == webrtc_port {
            d.webrtc += drops;
        } else if (20000..30000).contains(&port) {
            d.rtp += drops;
        } else {
            d.other += drops;
        }
    }
    d
}
