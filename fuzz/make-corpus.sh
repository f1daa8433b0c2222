#!/usr/bin/env bash
# Remakes the seed corpus in fuzz/corpus from real peers: libcoap's coap-client against `coapenroll serve` (with the plugtest
# resources) and OpenSSL's s_client against s_server over DTLS 1.2, both captured on loopback with dumpcap; `openssl req`
# CSRs; `openssl cmp` with its mock server (-reqout/-rspout); `openssl cms` EnvelopedData and SignedData for the keys in
# fuzz/keys. Not part of the build or of CI: the corpus is committed, this says where it came from. Needs openssl,
# libcoap3-bin, tshark and python3; builds the CLI in Release.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
keys=$root/fuzz/keys
corpus=$root/fuzz/corpus
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cd "$tmp"

seed() { # target name file
    mkdir -p "$corpus/$1"
    cp "$3" "$corpus/$1/$2"
}

capture_start() { # pcap port
    dumpcap -q -i lo -f "udp port $2" -w "$1" >/dev/null 2>&1 &
    capture_pid=$!
    sleep 2
}

capture_stop() {
    sleep 1
    kill "$capture_pid"
    wait "$capture_pid" 2>/dev/null || true
}

# ---- PKCS#10 ----------------------------------------------------------------------------------------------------------
openssl ecparam -name prime256v1 -genkey -noout -out new.key 2>/dev/null
openssl req -new -key new.key -subj "/CN=fuzz-p10" -outform DER -out p10.der
seed pkcs10 ec.der p10.der
openssl req -new -key "$keys/rsa.key" -subj "/CN=fuzz-rsa/O=CoapEnroll/serialNumber=42" \
    -addext "subjectAltName=DNS:device.example,IP:192.0.2.1,URI:urn:dev:ops:fuzz" -outform DER -out p10.der
seed pkcs10 rsa-san.der p10.der
printf '[req]\ndistinguished_name=dn\nattributes=attr\nprompt=no\n[dn]\nCN=fuzz-challenge\n[attr]\nchallengePassword=fuzz-otp\n' > challenge.cnf
openssl req -new -key "$keys/device.key" -config challenge.cnf -outform DER -out p10.der
seed pkcs10 challenge-password.der p10.der
openssl req -new -key "$keys/device.key" -subj "/CN=fuzz-eku" -addext "extendedKeyUsage=clientAuth" \
    -addext "keyUsage=critical,digitalSignature" -outform DER -out p10.der
seed pkcs10 extensions.der p10.der

# ---- CMP (openssl cmp's mock server) -----------------------------------------------------------------------------------
# The mock server answers with the device certificate, so the requests are for the device key.
cmp() {
    openssl cmp -use_mock_srv -srv_ref mock -srv_secret pass:fuzz-shared-secret -srv_trusted "$keys/ca.pem" -recipient "/CN=mock" \
        -rsp_cert "$keys/device.pem" -certout cert.pem "$@" >/dev/null 2>&1 || true
}
mac=(-ref fuzz -secret pass:fuzz-shared-secret)
cmp "${mac[@]}" -cmd ir -newkey "$keys/device.key" -subject "/CN=fuzz-device" -reqout ir.der,certconf.der -rspout ip.der,pkiconf.der
cmp "${mac[@]}" -cmd cr -newkey "$keys/device.key" -subject "/CN=fuzz-device" -reqout cr.der -implicit_confirm
openssl req -new -key new.key -subj "/CN=fuzz-p10" -outform DER -out p10.der
cmp "${mac[@]}" -cmd p10cr -csr p10.der -reqout p10cr.der -implicit_confirm
cmp "${mac[@]}" -cmd genm -reqout genm.der -rspout genp.der
cmp "${mac[@]}" -cmd rr -oldcert "$keys/device.pem" -reqout rr.der
cmp -cert "$keys/device.pem" -key "$keys/device.key" -trusted "$keys/ca.pem" -cmd kur -newkey "$keys/device.key" -reqout kur-signed.der -implicit_confirm
for message in ir certconf ip pkiconf cr p10cr genm genp rr kur-signed; do
    [[ -s $message.der ]] && seed cmp "$message.der" "$message.der"
done

# ---- CMS ------------------------------------------------------------------------------------------------------------------
printf 'hello fuzz' > data.txt
kek=(-secretkey 101112131415161718191a1b1c1d1e1f -secretkeyid "$(printf fuzz-kek | od -An -tx1 | tr -d ' \n')")
openssl cms -encrypt -binary -in data.txt -recip "$keys/rsa.pem" -aes-128-cbc -outform DER -out ktri.der
openssl cms -encrypt -binary -in data.txt -recip "$keys/rsa.pem" -keyopt rsa_padding_mode:oaep -aes-256-cbc -outform DER -out ktri-oaep.der
openssl cms -encrypt -binary -in data.txt -recip "$keys/device.pem" -aes-128-cbc -outform DER -out kari.der
openssl cms -encrypt -binary -in data.txt "${kek[@]}" -aes-128-cbc -outform DER -out kek.der
openssl cms -encrypt -binary -in data.txt -pwri_password fuzz-password -aes-128-cbc -outform DER -out pwri.der
# A server-generated key as RFC 7030 4.4.2 has it: an AsymmetricKeyPackage (SEQUENCE OF OneAsymmetricKey) signed by the
# device, enveloped. openssl cms -encrypt always labels its content id-data; the label is rewritten to id-signedData.
openssl pkcs8 -topk8 -nocrypt -in new.key -outform DER -out new.p8
python3 - <<'EOF'
d = open('new.p8', 'rb').read()
length = bytes([len(d)]) if len(d) < 128 else bytes([0x81, len(d)])
open('akp.der', 'wb').write(b'\x30' + length + d)
EOF
openssl cms -sign -binary -nodetach -in akp.der -signer "$keys/device.pem" -inkey "$keys/device.key" \
    -econtent_type 2.16.840.1.101.2.1.2.78.5 -outform DER -out signed-akp.der
openssl cms -encrypt -binary -in signed-akp.der -recip "$keys/rsa.pem" -aes-128-cbc -outform DER -out ktri-akp.der
openssl cms -encrypt -binary -in signed-akp.der -recip "$keys/device.pem" -aes-128-cbc -outform DER -out kari-akp.der
openssl cms -encrypt -binary -in signed-akp.der "${kek[@]}" -aes-128-cbc -outform DER -out kek-akp.der
python3 - <<'EOF'
data, signed = bytes.fromhex('06092a864886f70d010701'), bytes.fromhex('06092a864886f70d010702')
for name in ['ktri-akp.der', 'kari-akp.der', 'kek-akp.der']:
    d = open(name, 'rb').read()
    assert d.count(data) == 1, name
    open(name, 'wb').write(d.replace(data, signed))
EOF
for envelope in ktri ktri-oaep kari kek pwri ktri-akp kari-akp kek-akp; do seed cms-enveloped "$envelope.der" "$envelope.der"; done
openssl crl2pkcs7 -nocrl -certfile "$keys/device.pem" -certfile "$keys/ca.pem" -outform DER -out certs-only.der
seed cms-signed certs-only.der certs-only.der
seed cms-signed signed-akp.der signed-akp.der

# ---- multipart-core (RFC 8710): what /skg answers, a PKCS#8 key (284) and a certs-only certificate (281) ------------------
python3 - <<'EOF'
def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    if n < 256: return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25, n >> 8, n & 255])
def bstr(b): return head(2, len(b)) + b
key, certs = open('new.p8', 'rb').read(), open('certs-only.der', 'rb').read()
open('skg.cbor', 'wb').write(head(4, 4) + head(0, 284) + bstr(key) + head(0, 281) + bstr(certs))
open('empty-part.cbor', 'wb').write(head(4, 4) + head(0, 0) + bstr(b'') + head(0, 60) + bstr(b'\xa0'))
EOF
seed multipart-core skg.cbor skg.cbor
seed multipart-core empty-part.cbor empty-part.cbor

# ---- DTLS 1.2: OpenSSL client and server ------------------------------------------------------------------------------------
dtls() { # name port server-args... -- client-args...
    local name=$1 port=$2
    shift 2
    local server=() client=()
    while [[ $1 != -- ]]; do server+=("$1"); shift; done
    shift
    client=("$@")
    capture_start "$name.pcap" "$port"
    openssl s_server -dtls1_2 -port "$port" "${server[@]}" -quiet >/dev/null 2>&1 &
    local server_pid=$!
    sleep 1
    (echo hello; sleep 1) | timeout 10 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" "${client[@]}" -quiet >/dev/null 2>&1 || true
    kill "$server_pid" 2>/dev/null || true
    capture_stop
}
ecdhe='ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0'
psk='PSK-AES128-CCM8:@SECLEVEL=0'
cert=(-cert "$keys/device.pem" -key "$keys/device.key" -CAfile "$keys/ca.pem")
dtls dtls-ecdhe 44331 "${cert[@]}" -Verify 1 -cipher "$ecdhe" -- "${cert[@]}" -cipher "$ecdhe"
dtls dtls-psk 44332 -nocert -psk 0102030405060708090a0b0c0d0e0f10 -psk_identity fuzz -cipher "$psk" -- \
    -psk 0102030405060708090a0b0c0d0e0f10 -psk_identity fuzz -cipher "$psk"
dtls dtls-mtu 44333 "${cert[@]}" -Verify 1 -mtu 256 -- "${cert[@]}" -mtu 256 -cipher ECDHE-ECDSA-AES128-GCM-SHA256

# ---- CoAP: libcoap's client against coapenroll serve -----------------------------------------------------------------------
dotnet build "$root/src/CoapEnroll.Cli" -c Release --nologo -v quiet >/dev/null
port=56830
capture_start coap.pcap "$port"
dotnet "$root/src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll.dll" serve --data "$tmp/data" --bind 127.0.0.1 --coap-port "$port" \
    --coaps-port off --http-port off --https-port off --Coap:PlugtestResources=true --Coap:PlugtestObserveIntervalSeconds=1 >serve.log 2>&1 &
serve_pid=$!
for _ in $(seq 120); do grep -q "coap://" serve.log && break; sleep 1; done
uri=coap://127.0.0.1:$port
head -c 300 /dev/urandom | base64 -w0 > body.txt
coap-client-notls -m get -o wkc.txt "$uri/.well-known/core"
coap-client-notls -m get -o wkc-filtered.txt "$uri/.well-known/core?rt=*"
coap-client-notls -m get -b 64 "$uri/large" >/dev/null
coap-client-notls -m post -b 64 -f body.txt -t 0 "$uri/large-post" >/dev/null
coap-client-notls -m put -b 32 -f body.txt "$uri/large-update" >/dev/null
coap-client-notls -m get -s 3 "$uri/obs" >/dev/null
coap-client-notls -m get -N -T cafe "$uri/obs-large" >/dev/null
kill "$serve_pid"
capture_stop
seed link-format wkc.txt wkc.txt
{ echo 'rt=core.rd*'; cat wkc-filtered.txt; } > wkc-query.txt
seed link-format with-query.txt wkc-query.txt

# ---- Splitting the captures into the per-target seeds ---------------------------------------------------------------------
for pcap in coap dtls-ecdhe dtls-psk dtls-mtu; do
    tshark -r "$pcap.pcap" -T fields -e udp.srcport -e udp.dstport -e udp.payload > "$pcap.txt" 2>/dev/null
done
CORPUS=$corpus python3 - <<'EOF'
import os, struct
corpus = os.environ['CORPUS']
def seed(target, name, data):
    os.makedirs(f'{corpus}/{target}', exist_ok=True)
    open(f'{corpus}/{target}/{name}', 'wb').write(data)
def datagrams(name):
    for line in open(name):
        src, dst, payload = line.split('\t')
        yield int(src), int(dst), bytes.fromhex(payload.strip().replace(':', ''))

# CoAP: every distinct datagram (requests and answers) for the decoder, each client's requests in order for the exchange.
conversations, seen = {}, set()
for src, dst, d in datagrams('coap.txt'):
    if d not in seen and len(seen) < 16:
        seen.add(d)
        seed('coap-message', f'{len(seen):02d}-{"request" if dst == 56830 else "response"}.bin', d)
    if dst == 56830:
        conversations.setdefault(src, []).append(d)
for i, requests in enumerate(conversations.values()):
    seed('coap-exchange', f'client-{i}.bin', b''.join(b'\0' + struct.pack('>H', len(r)) + r for r in requests))

# DTLS: records of the epoch 0 handshake, split into messages.
def records(d):
    while len(d) >= 13:
        length = struct.unpack('>H', d[11:13])[0]
        yield d[0], struct.unpack('>H', d[3:5])[0], d[13:13 + length]
        d = d[13 + length:]
def fragments(payload):
    while len(payload) >= 12:
        n = int.from_bytes(payload[9:12], 'big')
        yield payload[:12 + n]
        payload = payload[12 + n:]
for capture in ['dtls-ecdhe', 'dtls-psk', 'dtls-mtu']:
    flights = {}
    for k, (src, dst, d) in enumerate(datagrams(f'{capture}.txt')):
        client = dst in (44331, 44332, 44333)
        if k < 6:
            seed('dtls-record', f'{capture}-{k:02d}.bin', bytes([0]) + d)
        for content, epoch, payload in records(d):
            if content != 22 or epoch != 0:
                continue
            if client and payload[0] == 1:
                seed('dtls-clienthello', f'{capture}-{k:02d}.bin', d)
            for fragment in fragments(payload):
                flights.setdefault(src, []).append(fragment)
                kind, length, offset, flen = fragment[0], int.from_bytes(fragment[1:4], 'big'), int.from_bytes(fragment[6:9], 'big'), int.from_bytes(fragment[9:12], 'big')
                if offset != 0 or flen != length:
                    continue
                body = fragment[12:]
                seed('dtls-handshake', f'{capture}-{k:02d}-{kind}.bin', bytes([kind]) + body)
                if kind == 11:
                    seed('dtls-certificate', f'{capture}-{k:02d}.bin', body)
                if kind == 16 and client:
                    seed('dtls-clientkeyexchange', f'{capture}.bin', bytes([1 if 'psk' in capture else 0]) + body)
    for src, fragments_sent in flights.items():
        seed('dtls-reassembly', f'{capture}-{"client" if src not in (44331, 44332, 44333) else "server"}.bin', b''.join(fragments_sent))
EOF
echo "corpus written to $corpus"
