use super::*;

fn block() -> ReportBlock {
    ReportBlock {
        ssrc: 0x1122_3344,
        fraction_lost: 25,
        cumulative_lost: -3,
        extended_highest_seq: 0x0001_0005,
        jitter: 42,
        last_sr: 0xAABB_CCDD,
        delay_since_last_sr: 65_536,
    }
}

#[test]
fn sender_report_round_trips_with_cname() {
    let report = Report {
        ssrc: 7,
        sender: Some(SenderInfo {
            ntp: 0x0102_0304_0506_0708,
            rtp_timestamp: 160,
            packet_count: 50,
            octet_count: 8000,
        }),
        block: Some(block()),
    };
    let mut out = Vec::new();
    write_compound(&report, "lifeline@host", &mut out);
    assert_eq!(out.len() % 4, 0);
    assert_eq!(out[1], PT_SR);
    // SR: header 4 + SSRC 4 + sender info 20 + one block 24.
    assert_eq!(u16::from_be_bytes([out[2], out[3]]), (52 / 4) - 1);
    assert!(is_rtcp(&out));
    let parsed = parse_compound(&out).unwrap();
    assert_eq!(parsed.report, report);
    assert_eq!(parsed.cname, Some("lifeline@host"));
}

#[test]
fn receiver_report_without_block_round_trips() {
    let report = Report {
        ssrc: 9,
        sender: None,
        block: None,
    };
    let mut out = Vec::new();
    // A CNAME whose item ends exactly on a word boundary still gets a null word.
    write_compound(&report, "ab", &mut out);
    assert_eq!(out[1], PT_RR);
    assert_eq!(out.len(), 8 + 4 + 12);
    let parsed = parse_compound(&out).unwrap();
    assert_eq!(parsed.report, report);
    assert_eq!(parsed.cname, Some("ab"));

    let with_block = Report {
        block: Some(block()),
        ..report
    };
    write_compound(&with_block, "x", &mut out);
    assert_eq!(parse_compound(&out).unwrap().report, with_block);
}

#[test]
fn malformed_compounds_are_rejected() {
    let report = Report {
        ssrc: 1,
        sender: None,
        block: Some(block()),
    };
    let mut out = Vec::new();
    write_compound(&report, "c", &mut out);
    assert_eq!(parse_compound(&out[..10]), Err(RtcpError::Truncated));
    let mut bad = out.clone();
    bad[0] = 0x40;
    assert_eq!(parse_compound(&bad), Err(RtcpError::BadVersion));
    // SDES first is not a valid compound.
    let sdes = out[32..].to_vec();
    assert_eq!(sdes[1], PT_SDES);
    assert_eq!(parse_compound(&sdes), Err(RtcpError::NoReport));
    // A BYE after the report is skipped.
    let mut with_bye = out.clone();
    with_bye.extend_from_slice(&[0x81, PT_BYE, 0, 1, 0, 0, 0, 1]);
    assert_eq!(parse_compound(&with_bye).unwrap().report, report);
    // RTP is not RTCP.
    assert!(!is_rtcp(&[0x80, 0x00, 0, 1]));
    assert!(!is_rtcp(&[0x80, 0x80 | 101, 0, 1]));
}

#[test]
fn ntp_conversions() {
    let ntp = ntp_from_duration(Duration::from_millis(1500));
    assert_eq!(ntp >> 32, 1);
    assert_eq!(ntp & 0xFFFF_FFFF, 1 << 31);
    assert_eq!(ntp_middle(ntp), 0x0001_8000);
    assert_eq!(dlsr_units(Duration::from_millis(500)), 32_768);
}

#[test]
fn stats_count_loss_and_wrap() {
    let t0 = Instant::now();
    let mut s = RtcpStats::new(8000);
    // 65530..=65535 then 0..=9 with 3 and 4 lost: 16 expected, 14 received.
    let mut n = 0u32;
    for seq in (65530u16..=65535).chain(0..10) {
        if seq == 3 || seq == 4 {
            continue;
        }
        let at = t0 + Duration::from_millis(20 * u64::from(n));
        s.update(seq, 160 * n, at);
        n += 1;
    }
    assert_eq!(s.extended_highest_seq(), (1 << 16) + 9);
    assert_eq!(s.packets_received(), 14);
    assert_eq!(s.cumulative_lost(), 2);
    let b = s.report_block(5);
    assert_eq!(b.fraction_lost, (2 * 256 / 16) as u8);
    assert_eq!(b.cumulative_lost, 2);
    // Next interval: nothing new, nothing lost.
    assert_eq!(s.report_block(5).fraction_lost, 0);
    // A late duplicate makes the cumulative count smaller, never the fraction negative.
    s.update_sequence(8);
    assert_eq!(s.cumulative_lost(), 1);
    assert_eq!(s.report_block(5).fraction_lost, 0);
}

#[test]
fn stats_restart_on_a_confirmed_jump() {
    let t0 = Instant::now();
    let mut s = RtcpStats::new(8000);
    for seq in 100..110 {
        s.update(seq, 0, t0);
    }
    s.update(40_000, 0, t0);
    assert_eq!(s.extended_highest_seq(), 109, "one stray packet is ignored");
    s.update(40_001, 0, t0);
    assert_eq!(s.extended_highest_seq(), 40_001);
    assert_eq!(s.packets_received(), 1);
    assert_eq!(s.cumulative_lost(), 0);
}

#[test]
fn jitter_is_zero_for_a_steady_stream_and_grows_with_variation() {
    let t0 = Instant::now();
    let mut steady = RtcpStats::new(8000);
    let mut jittery = RtcpStats::new(8000);
    for i in 0..200u32 {
        let nominal = t0 + Duration::from_millis(20 * u64::from(i));
        steady.update(i as u16, 160 * i, nominal);
        // Alternate 0 and +10 ms delay: |D| = 80 samples on every packet.
        let late = nominal + Duration::from_millis(if i % 2 == 1 { 10 } else { 0 });
        jittery.update(i as u16, 160 * i, late);
    }
    assert_eq!(steady.jitter(), 0);
    // J converges to |D| = 80 timestamp units.
    assert!(
        (75..=80).contains(&jittery.jitter()),
        "{}",
        jittery.jitter()
    );
}
