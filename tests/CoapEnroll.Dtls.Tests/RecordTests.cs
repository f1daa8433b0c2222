using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class RecordTests
{
    private static readonly byte[] s_key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
    private static readonly byte[] s_iv = [0xa0, 0xa1, 0xa2, 0xa3];

    public static TheoryData<CipherSuite> Suites => new()
    {
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
        CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite.TLS_PSK_WITH_AES_128_CCM_8,
    };

    [Fact]
    public void SuiteTable()
    {
        Assert.Equal(8, CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8).TagLength);
        Assert.Equal(16, CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM).TagLength);
        Assert.Equal(AeadAlgorithm.AesGcm, CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256).Aead);
        Assert.Equal(KeyExchangeKind.Psk, CipherSuiteInfo.Get(CipherSuite.TLS_PSK_WITH_AES_128_CCM_8).KeyExchange);
        Assert.Equal(0xC0AE, (int)CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
        Assert.Equal(0xC0A8, (int)CipherSuite.TLS_PSK_WITH_AES_128_CCM_8);
        Assert.False(CipherSuiteInfo.TryGet((CipherSuite)0x002F, out _));
    }

    // Expected records computed independently with Python `cryptography` (AESCCM/AESGCM) from the RFC
    // layouts: RFC 5246 §6.2.3.3 AD for the plain record, RFC 9146 §5.3 AD for the CID record.
    [Fact]
    public void Seal_Ccm8_MatchesIndependentComputation()
    {
        using var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), s_key, s_iv);
        byte[] record = new byte[64];
        int n = p.Seal(record, ContentType.ApplicationData, 1, 5, "hello dtls"u8);
        Assert.Equal("17fefd0001000000000005001a00010000000000054498625bc086a0477044ae3e8c67637938d3", Convert.ToHexStringLower(record.AsSpan(0, n)));
    }

    [Fact]
    public void Seal_GcmWithCid_MatchesIndependentComputation()
    {
        using var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), s_key, s_iv);
        byte[] record = new byte[128];
        int n = p.Seal(record, ContentType.ApplicationData, 2, 0x0102030405, "hello dtls"u8, [1, 2, 3, 4], paddingLength: 2);
        Assert.Equal("19fefd0002000102030405010203040025000200010203040537415b6cb029f641b3edd4bfd158cc1962eace54f65ecb1d36a1dca330",
            Convert.ToHexStringLower(record.AsSpan(0, n)));
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(record.AsSpan(0, n), 4, out DtlsRecord r, out _));
        byte[] plain = new byte[64];
        Assert.True(p.TryOpen(r, plain, out ContentType type, out int len));
        Assert.Equal(ContentType.ApplicationData, type);
        Assert.Equal("hello dtls"u8.ToArray(), plain[..len]);
    }

    [Fact]
    public void CidAdditionalData_Rfc9146Layout()
    {
        byte[] ad = new byte[64];
        int n = DtlsRecordProtection.WriteCidAdditionalData(ad, 0xFEFD, 0x0102, 0x030405060708, [0xC1, 0xC2], 0x0A0B);
        Assert.Equal("ffffffffffffffff" + "19" + "02" + "19" + "fefd" + "0102" + "030405060708" + "c1c2" + "0a0b", Convert.ToHexStringLower(ad.AsSpan(0, n)));
        n = DtlsRecordProtection.WriteAdditionalData(ad, ContentType.Handshake, 0xFEFD, 1, 2, 0x30);
        Assert.Equal("0001000000000002" + "16" + "fefd" + "0030", Convert.ToHexStringLower(ad.AsSpan(0, n)));
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void RoundTrip_AndEveryBitFlipRejected(CipherSuite suite)
    {
        CipherSuiteInfo info = CipherSuiteInfo.Get(suite);
        using var p = DtlsRecordProtection.Create(info, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(4));
        foreach (byte[] cid in new[] { Array.Empty<byte>(), new byte[] { 9, 8, 7 } })
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(21);
            byte[] record = new byte[p.GetSealedLength(plaintext.Length, cid.Length, cid.Length > 0 ? 3 : 0)];
            int n = p.Seal(record, ContentType.Handshake, 1, 42, plaintext, cid, cid.Length > 0 ? 3 : 0);
            Assert.Equal(record.Length, n);
            byte[] output = new byte[record.Length];
            Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(record, cid.Length, out DtlsRecord r, out int consumed));
            Assert.Equal(n, consumed);
            Assert.Equal(cid, r.ConnectionId.ToArray());
            Assert.True(p.TryOpen(r, output, out ContentType type, out int len));
            Assert.Equal(ContentType.Handshake, type);
            Assert.Equal(plaintext, output[..len]);

            for (int bit = 0; bit < record.Length * 8; bit++)
            {
                byte[] tampered = (byte[])record.Clone();
                tampered[bit / 8] ^= (byte)(1 << (bit % 8));
                RecordParseStatus status = DtlsRecordCodec.TryReadRecord(tampered, cid.Length, out DtlsRecord t, out _);
                if (status == RecordParseStatus.Success)
                {
                    Assert.False(p.TryOpen(t, output, out _, out _), $"bit {bit} accepted");
                }
            }
        }
    }

    [Fact]
    public void Seal_PlaintextInsideDestination_InPlace()
    {
        using var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), s_key, s_iv);
        byte[] buffer = new byte[200];
        "payload in place"u8.CopyTo(buffer.AsSpan(21));
        int n = p.Seal(buffer, ContentType.ApplicationData, 1, 7, buffer.AsSpan(21, 16));
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(buffer.AsSpan(0, n), 0, out DtlsRecord r, out _));
        byte[] output = new byte[64];
        Assert.True(p.TryOpen(r, output, out _, out int len));
        Assert.Equal("payload in place"u8.ToArray(), output[..len]);
    }

    [Fact]
    public void Open_RejectsCidInnerWithoutContentType()
    {
        // Build a CID record whose inner plaintext is all zeros by sealing a zero-length content of type... the
        // API refuses type 0, so encrypt the all-zero inner plaintext directly with the same construction.
        CipherSuiteInfo info = CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8);
        using var p = DtlsRecordProtection.Create(info, s_key, s_iv);
        byte[] cid = [5, 5];
        byte[] inner = new byte[4];
        byte[] header = new byte[15];
        DtlsRecordCodec.WriteHeader(header, ContentType.Tls12Cid, DtlsVersion.Dtls12, 1, 3, cid, 8 + inner.Length + 8);
        byte[] nonce = [.. s_iv, 0, 1, 0, 0, 0, 0, 0, 3];
        byte[] ad = new byte[64];
        int adLen = DtlsRecordProtection.WriteCidAdditionalData(ad, DtlsVersion.Dtls12, 1, 3, cid, inner.Length);
        byte[] ct = new byte[inner.Length];
        byte[] tag = new byte[8];
        using (var ccm = new AesCcm(s_key))
        {
            ccm.Encrypt(nonce, inner, ct, tag, ad.AsSpan(0, adLen));
        }

        byte[] record = [.. header, .. nonce[4..], .. ct, .. tag];
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(record, 2, out DtlsRecord r, out _));
        Assert.False(p.TryOpen(r, new byte[64], out _, out _));
    }

    [Fact]
    public void Protection_WithoutKeysOrDisposed_RefusesToSealOrOpen()
    {
        // A struct held inline by the connection: its default value means "no keys yet" and must not seal or open anything.
        DtlsRecordProtection none = default;
        Assert.False(none.IsCreated);
        byte[] record = new byte[64];
        Assert.Throws<ObjectDisposedException>(() => none.Seal(record, ContentType.ApplicationData, 1, 0, [1, 2, 3]));
        none.Dispose();

        var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), s_key, s_iv);
        Assert.True(p.IsCreated);
        int length = p.Seal(record, ContentType.ApplicationData, 1, 0, [1, 2, 3]);
        p.Dispose();
        p.Dispose();
        Assert.Throws<ObjectDisposedException>(() => p.Seal(record, ContentType.ApplicationData, 1, 1, [1, 2, 3]));
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(record.AsSpan(0, length), 0, out DtlsRecord parsed, out _));
        bool refused = false;
        try
        {
            p.TryOpen(parsed, new byte[64], out _, out _);
        }
        catch (ObjectDisposedException)
        {
            refused = true;
        }

        Assert.True(refused);
    }

    [Fact]
    public void Seal_RefusesEpochZeroAndSequenceOverflow()
    {
        using var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), s_key, s_iv);
        byte[] buffer = new byte[100];
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Seal(buffer, ContentType.ApplicationData, 0, 1, "x"u8));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Seal(buffer, ContentType.ApplicationData, 1, 1UL << 48, "x"u8));
        Assert.Throws<ArgumentException>(() => p.Seal(buffer, ContentType.Tls12Cid, 1, 1, "x"u8));
        byte[] big = new byte[20_000];
        Assert.Equal(16_384 + 13 + 16, p.Seal(big, ContentType.ApplicationData, 1, 2, new byte[16_384]));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Seal(big, ContentType.ApplicationData, 1, 3, new byte[16_385]));
        // With a CID, content + real type + padding must stay within 2^14 (RFC 9146 §5).
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Seal(big, ContentType.ApplicationData, 1, 4, new byte[16_384], [1]));
        Assert.Equal(16_384 + 14 + 16, p.Seal(big, ContentType.ApplicationData, 1, 5, new byte[16_383], [1]));
    }

    [Fact]
    public void Codec_ParsesSeveralRecordsInOneDatagram()
    {
        byte[] datagram = new byte[100];
        int n = DtlsRecordCodec.WritePlaintextRecord(datagram, ContentType.Handshake, 0, [1, 2, 3]);
        n += DtlsRecordCodec.WritePlaintextRecord(datagram.AsSpan(n), ContentType.Alert, 1, [2, 40], DtlsVersion.Dtls10);
        var reader = new DtlsRecordReader(datagram.AsSpan(0, n), 0);
        Assert.True(reader.TryRead(out DtlsRecord a));
        Assert.Equal(ContentType.Handshake, a.ContentType);
        Assert.Equal(new byte[] { 1, 2, 3 }, a.Payload.ToArray());
        Assert.True(reader.TryRead(out DtlsRecord b));
        Assert.Equal(ContentType.Alert, b.ContentType);
        Assert.Equal(DtlsVersion.Dtls10, b.Version);
        Assert.Equal(1UL, b.SequenceNumber);
        Assert.False(reader.TryRead(out _));
        Assert.Equal(RecordParseStatus.EndOfDatagram, reader.Status);
    }

    [Fact]
    public void Codec_RejectsMalformed()
    {
        byte[] good = new byte[20];
        int n = DtlsRecordCodec.WritePlaintextRecord(good, ContentType.Handshake, 0x123456789A, [1, 2, 3, 4]);
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(good.AsSpan(0, n), 0, out DtlsRecord r, out _));
        Assert.Equal(0x123456789AUL, r.SequenceNumber);
        for (int i = 1; i < n; i++)
        {
            Assert.Equal(RecordParseStatus.Truncated, DtlsRecordCodec.TryReadRecord(good.AsSpan(0, i), 0, out _, out _));
        }

        byte[] bad = good[..n];
        bad[0] = 99;
        Assert.Equal(RecordParseStatus.UnknownContentType, DtlsRecordCodec.TryReadRecord(bad, 0, out _, out _));
        bad = good[..n];
        bad[1] = 3;
        Assert.Equal(RecordParseStatus.BadVersion, DtlsRecordCodec.TryReadRecord(bad, 0, out _, out _));

        // Length above 2^14 at epoch 0, above 2^14+2048 at epoch > 0.
        byte[] big = new byte[13 + DtlsRecordCodec.MaxCiphertextLength + 1];
        DtlsRecordCodec.WriteHeader(big, ContentType.ApplicationData, DtlsVersion.Dtls12, 0, 0, default, DtlsRecordCodec.MaxPlaintextLength + 1);
        Assert.Equal(RecordParseStatus.RecordTooLong, DtlsRecordCodec.TryReadRecord(big, 0, out _, out _));
        DtlsRecordCodec.WriteHeader(big, ContentType.ApplicationData, DtlsVersion.Dtls12, 1, 0, default, DtlsRecordCodec.MaxPlaintextLength + 1);
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(big, 0, out _, out _));
        DtlsRecordCodec.WriteHeader(big, ContentType.ApplicationData, DtlsVersion.Dtls12, 1, 0, default, DtlsRecordCodec.MaxCiphertextLength + 1);
        Assert.Equal(RecordParseStatus.RecordTooLong, DtlsRecordCodec.TryReadRecord(big, 0, out _, out _));

        // CID records: need a known CID length, never at epoch 0.
        byte[] cidRecord = new byte[20];
        DtlsRecordCodec.WriteHeader(cidRecord, ContentType.Tls12Cid, DtlsVersion.Dtls12, 0, 0, [1, 2], 0);
        Assert.Equal(RecordParseStatus.ConnectionIdAtEpochZero, DtlsRecordCodec.TryReadRecord(cidRecord.AsSpan(0, 15), 2, out _, out _));
        DtlsRecordCodec.WriteHeader(cidRecord, ContentType.Tls12Cid, DtlsVersion.Dtls12, 1, 0, [1, 2], 0);
        Assert.Equal(RecordParseStatus.UnexpectedConnectionId, DtlsRecordCodec.TryReadRecord(cidRecord.AsSpan(0, 15), 0, out _, out _));
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(cidRecord.AsSpan(0, 15), 2, out DtlsRecord c, out _));
        Assert.Equal(new byte[] { 1, 2 }, c.ConnectionId.ToArray());
        Assert.Equal(RecordParseStatus.Truncated, DtlsRecordCodec.TryReadRecord(cidRecord.AsSpan(0, 14), 2, out _, out _));
        Assert.Equal(RecordParseStatus.EndOfDatagram, DtlsRecordCodec.TryReadRecord([], 2, out _, out _));
    }

    [Fact]
    public void Reader_StopsAtFirstMalformedRecord()
    {
        byte[] datagram = new byte[40];
        int n = DtlsRecordCodec.WritePlaintextRecord(datagram, ContentType.Handshake, 0, [1]);
        datagram[n] = 22;
        var reader = new DtlsRecordReader(datagram.AsSpan(0, n + 5), 0);
        Assert.True(reader.TryRead(out _));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(RecordParseStatus.Truncated, reader.Status);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Alert_And_ChangeCipherSpec()
    {
        Assert.True(DtlsAlert.TryParse([2, 40], out DtlsAlert alert));
        Assert.Equal(new DtlsAlert(AlertLevel.Fatal, AlertDescription.HandshakeFailure), alert);
        Assert.False(DtlsAlert.TryParse([3, 40], out _));
        Assert.False(DtlsAlert.TryParse([2], out _));
        Assert.False(DtlsAlert.TryParse([2, 40, 0], out _));
        Assert.True(ChangeCipherSpec.IsValid([1]));
        Assert.False(ChangeCipherSpec.IsValid([1, 1]));
        Assert.False(ChangeCipherSpec.IsValid([0]));
    }
}
