#!/usr/bin/env bash
# Recreates the seed corpora under fuzz/corpus/<target>/ (git-ignored) from the RFC 4475
# torture messages in crates/sip/tests/rfc4475/ plus a few handwritten inputs.
# Idempotent: files are named by content hash, so re-running adds nothing twice and
# keeps whatever the fuzzer has added since.
set -euo pipefail
cd "$(dirname "$0")"
dat=../crates/sip/tests/rfc4475
out=corpus

put() { # put <target> : stdin -> corpus/<target>/<sha1>
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -s "$tmp" ]; then
        mv "$tmp" "$out/$1/seed-$(sha1sum "$tmp" | cut -c1-16)"
    else
        rm -f "$tmp"
    fi
}

for t in sip_message sip_stream_framing sdp digest_header uri; do
    mkdir -p "$out/$t"
done

files=("$dat"/*.dat)
for i in "${!files[@]}"; do
    f=${files[$i]}
    next=${files[$(((i + 1) % ${#files[@]}))]}
    # Whole messages.
    put sip_message <"$f"
    # Streams: a chunk-size prefix (3 sizes: 21, 69, 257 bytes), then one message, or
    # two pipelined with a keep-alive ping between them.
    { printf '\x03\x05\x11\x40'; cat "$f"; } | put sip_stream_framing
    { printf '\x02\x00\x0b'; cat "$f"; printf '\r\n\r\n'; cat "$next"; } | put sip_stream_framing
    # SDP bodies: from the v=0 line to the end.
    sed -n '/^v=0/,$p' "$f" | put sdp
    # URIs, name-addrs and Via values: the Request-URI and header values, one per file.
    head -n1 "$f" | awk '{ printf "%s", $2 }' | put uri
    grep -aiE '^(to|t|from|f|contact|m|via|v|route|record-route|cseq)[[:space:]]*:' "$f" |
        while IFS= read -r line; do
            printf '%s' "${line#*:}" | sed -e 's/^[[:space:]]*//' -e 's/\r$//' | put uri
        done
done

# Handwritten SDP offers.
printf 'v=0\r\no=- 3890 3890 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n' | put sdp
printf 'v=0\no=alice 1 2 IN IP6 2001:db8::1\ns=call\ni=info\nb=AS:64\nt=0 0\na=recvonly\nm=audio 5004/2 RTP/SAVPF 111 0\nc=IN IP6 2001:db8::1\na=rtpmap:111 opus/48000/2\na=fmtp:111 minptime=10\na=inactive\nm=video 0 RTP/AVP 96\na=rtpmap:96 VP8/90000\nm=image 6000 udptl t38\n' | put sdp
printf 'v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns= \r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 8\r\n' | put sdp

# Digest credentials (NONCE is replaced by a valid nonce in the target) and challenges.
printf 'Digest username="alice", realm="lifeline", nonce="NONCE", uri="sip:lifeline", response="0", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc", opaque="xyz"' | put digest_header
printf 'Digest username="bob", realm="lifeline", nonce="NONCE", uri="sip:a@b", response="0", algorithm=SHA-256' | put digest_header
printf 'digest USERNAME=carol,REALM=lifeline,NONCE=NONCE,URI="sip:x",RESPONSE=00,QOP=AUTH,NC=0000000a,CNONCE=q' | put digest_header
printf 'Digest realm="lifeline", nonce="abc", qop="auth,auth-int", algorithm=SHA-256, opaque="o", stale=true' | put digest_header
printf 'Digest realm="a \\"quoted\\" realm", nonce=xyz' | put digest_header
printf 'NoOneKnowsThisScheme opaque-data=here' | put digest_header

# URIs of every kind.
for u in 'sip:alice:pw@Example.COM:5070;transport=tcp;lr?subject=x' \
    'sips:[2001:db8::1]:5061;maddr=x' 'tel:+1-201-555-0123;ext=1;phone-context=example.com' \
    '"Bob \"B\"" <sip:bob@x;transport=tcp>;tag=9' 'Anonymous <sip:c@privacy.org>;tag=hyh8' \
    'sip:user;par=u%40example.net@example.com' 'SIP / 2.0 / UDP 192.0.2.2:5060;rport;branch=z9hG4bK1' \
    'SIP/2.0/TCP [2001:db8::9:1]:5061;received=192.0.2.1;branch=z9hG4bKas3' '1 INVITE'; do
    printf '%s' "$u" | put uri
done

for t in sip_message sip_stream_framing sdp digest_header uri; do
    echo "corpus/$t: $(find "$out/$t" -type f | wc -l) files"
done
