namespace CoapEnroll.Cmp.Tests;

public sealed class PkiMessageCodecTests : IClassFixture<PkiMessageCodecTests.Fixture>
{
    private readonly Fixture _f;

    public PkiMessageCodecTests(Fixture f) => _f = f;

    public sealed class Fixture : IDisposable
    {
        public OpenSslMessages Ssl { get; } = new();

        public void Dispose() => Ssl.Dispose();
    }

    private static PkiMessage RoundTrip(byte[] der, PkiBodyType expected)
    {
        CmpDecodeResult result = PkiMessageCodec.Decode(der);
        Assert.True(result.IsSuccess, result.Reason);
        Assert.Equal(expected, result.Message.Body.BodyType);
        Assert.Equal(der, PkiMessageCodec.Encode(result.Message));
        return result.Message;
    }

    [Fact]
    public void IrIpCertConfPkiConfFromOpenSsl()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-implicit_confirm");
        Assert.Single(reqs);
        PkiMessage ir = RoundTrip(reqs[0], PkiBodyType.Ir);
        Assert.True(ir.Header.ImplicitConfirm);
        Assert.Equal(2, ir.Header.Pvno);
        Assert.Equal("1.2.840.113533.7.66.13", ir.Header.ProtectionAlg!.Algorithm);
        Assert.Equal("ref1"u8.ToArray(), ir.Header.SenderKid!.Value.ToArray());
        Assert.Equal(16, ir.Header.TransactionId!.Value.Length);
        Assert.Equal("CN=MockCA", ir.Header.Recipient.DirectoryName!.Name);
        var body = Assert.IsType<CertReqMessagesBody>(ir.Body);
        CertReqMsg msg = Assert.Single(body.Requests);
        Assert.Equal(0, msg.CertReq.CertReqId);
        Assert.NotNull(msg.CertReq.Template.PublicKey);
        Assert.Equal(ProofOfPossessionKind.Signature, msg.Popo!.Kind);
        Assert.Equal(msg.CertReq.GetEncoded().ToArray(), Slice(reqs[0], msg.CertReq.GetEncoded()));
        Assert.NotNull(ir.Protection);
        Assert.Equal("1.2.840.10045.4.3.2", msg.Popo.SignatureAlgorithm!.Algorithm);
        using var ec = System.Security.Cryptography.ECDsa.Create();
        ec.ImportSubjectPublicKeyInfo(msg.CertReq.Template.PublicKey!.Value.Span, out _);
        Assert.True(ec.VerifyData(msg.CertReq.GetEncoded().Span, msg.Popo.Signature!.Value.Span, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.Rfc3279DerSequence), "POPO signature over the received CertRequest");
        byte[] tampered = msg.CertReq.GetEncoded().ToArray();
        tampered[^1] ^= 1;
        Assert.False(ec.VerifyData(tampered, msg.Popo.Signature!.Value.Span, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.Rfc3279DerSequence));
        PkiMessage ip = RoundTrip(rsps[0], PkiBodyType.Ip);
        var rep = Assert.IsType<CertRepMessageBody>(ip.Body);
        CertResponse response = Assert.Single(rep.Responses);
        Assert.Equal(0, response.Status.Status);
        Assert.True(ip.Header.ImplicitConfirm);
        using var issued = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_f.Ssl.Dir, "ir-out.crt")));
        Assert.Equal(issued.RawData, response.CertifiedKeyPair!.Certificate!.Value.ToArray());
        Assert.Equal(ir.Header.SenderNonce!.Value.ToArray(), ip.Header.RecipNonce!.Value.ToArray());
    }

    [Fact]
    public void PollingFromOpenSslMockServer()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("cr", "-newkey", "ca.key", "-subject", "/CN=dev", "-implicit_confirm", "-poll_count", "2", "-check_after", "0");
        Assert.Equal(3, reqs.Length);
        var waiting = Assert.IsType<CertRepMessageBody>(RoundTrip(rsps[0], PkiBodyType.Cp).Body);
        Assert.Equal(3, waiting.Responses[0].Status.Status);
        Assert.Equal([0L], Assert.IsType<PollReqBody>(RoundTrip(reqs[1], PkiBodyType.PollReq).Body).CertReqIds);
        PollRepEntry entry = Assert.Single(Assert.IsType<PollRepBody>(RoundTrip(rsps[1], PkiBodyType.PollRep).Body).Entries);
        Assert.Equal(0, entry.CheckAfter);
        RoundTrip(reqs[2], PkiBodyType.PollReq);
        RoundTrip(rsps[2], PkiBodyType.Cp);
    }

    [Fact]
    public void ErrorFromOpenSslMockServer()
    {
        var (_, rsps) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-send_error");
        PkiMessage error = RoundTrip(rsps[0], PkiBodyType.Error);
        var body = Assert.IsType<ErrorBody>(error.Body);
        Assert.Equal(2, body.StatusInfo.Status);
    }

    [Fact]
    public void ConstructedMessagesRoundTrip()
    {
        var header = new PkiHeader
        {
            Sender = CmpGeneralName.FromDirectoryName(new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=ca")),
            Recipient = CmpGeneralName.FromDirectoryName(new System.Security.Cryptography.X509Certificates.X500DistinguishedName("")),
            MessageTime = new DateTimeOffset(2026, 12, 5, 13, 0, 0, TimeSpan.Zero),
            TransactionId = new byte[16],
            FreeText = ["hello"],
            GeneralInfo = [InfoTypeAndValue.ImplicitConfirm(), InfoTypeAndValue.ConfirmWaitTime(new DateTimeOffset(2026, 12, 5, 14, 0, 0, TimeSpan.Zero))],
        };
        PkiBody[] bodies =
        [
            new PkiConfBody(),
            new PollReqBody { CertReqIds = [0] },
            new PollRepBody { Entries = [new PollRepEntry { CertReqId = 0, CheckAfter = 10, Reason = ["approval"] }] },
            new CertConfBody { Statuses = [new CertStatus { CertHash = new byte[32], CertReqId = 0, StatusInfo = new PkiStatusInfo { Status = 0 } }] },
            new GenMsgBody(PkiBodyType.Genm) { Items = [new InfoTypeAndValue { InfoType = "1.3.6.1.5.5.7.4.17" }] },
            new ErrorBody { StatusInfo = new PkiStatusInfo { Status = 2, StatusString = ["bad"], FailInfo = 1 << 7 }, ErrorCode = 5, ErrorDetails = ["x"] },
            new CertRepMessageBody(PkiBodyType.Cp) { Responses = [new CertResponse { CertReqId = 0, Status = new PkiStatusInfo { Status = 3, FailInfo = 1 << 25 } }] },
        ];
        foreach (PkiBody body in bodies)
        {
            byte[] der = PkiMessageCodec.Encode(new PkiMessage { Header = header, Body = body, Protection = new byte[] { 1, 2 } });
            PkiMessage back = RoundTrip(der, body.BodyType);
            Assert.True(back.Header.ImplicitConfirm);
            Assert.Equal(new DateTimeOffset(2026, 12, 5, 14, 0, 0, TimeSpan.Zero), back.Header.ConfirmWaitTime);
            Assert.True(back.Header.Recipient.IsNullDirectoryName);
        }

        var err = (ErrorBody)PkiMessageCodec.Decode(PkiMessageCodec.Encode(new PkiMessage { Header = header, Body = bodies[5] })).Message!.Body;
        Assert.Equal(1 << 7, err.StatusInfo.FailInfo);
        byte[] errDer = PkiMessageCodec.Encode(new PkiMessage { Header = header, Body = bodies[5] });
        Assert.True(errDer.AsSpan().IndexOf(new byte[] { 0x03, 0x02, 0x00, 0x01 }) >= 0, "failInfo badDataFormat (bit 7) must be 03 02 00 01");
    }

    [Fact]
    public void ExplicitConfirmationFromOpenSsl()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("cr", "-newkey", "ca.key", "-subject", "/CN=dev");
        Assert.Equal(2, reqs.Length);
        RoundTrip(reqs[0], PkiBodyType.Cr);
        RoundTrip(rsps[0], PkiBodyType.Cp);
        PkiMessage conf = RoundTrip(reqs[1], PkiBodyType.CertConf);
        CertStatus status = Assert.Single(Assert.IsType<CertConfBody>(conf.Body).Statuses);
        var cp = (CertRepMessageBody)PkiMessageCodec.Decode(rsps[0]).Message!.Body;
        byte[] cert = cp.Responses[0].CertifiedKeyPair!.Certificate!.Value.ToArray();
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(cert), status.CertHash.ToArray());
        RoundTrip(rsps[1], PkiBodyType.PkiConf);
    }

    [Fact]
    public void KurP10crGenmRrFromOpenSsl()
    {
        var (kur, kup) = _f.Ssl.Exchange("kur", "-newkey", "ca.key", "-oldcert", "ca.crt", "-implicit_confirm", "-days", "10");
        var kurBody = Assert.IsType<CertReqMessagesBody>(RoundTrip(kur[0], PkiBodyType.Kur).Body);
        CertTemplate kurTemplate = kurBody.Requests[0].CertReq.Template;
        Assert.NotNull(kurBody.Requests[0].CertReq.Controls);
        Assert.Equal(TimeSpan.FromDays(10), kurTemplate.Validity!.NotAfter - kurTemplate.Validity.NotBefore);
        RoundTrip(kup[0], PkiBodyType.Kup);
        var (p10, cp) = _f.Ssl.Exchange("p10cr", "-csr", "dev.csr", "-implicit_confirm");
        var p10Body = Assert.IsType<P10crBody>(RoundTrip(p10[0], PkiBodyType.P10cr).Body);
        Assert.Equal("CN=dev", System.Security.Cryptography.X509Certificates.CertificateRequest.LoadSigningRequest(p10Body.CertificationRequest.ToArray(), System.Security.Cryptography.HashAlgorithmName.SHA256).SubjectName.Name);
        RoundTrip(cp[0], PkiBodyType.Cp);
        var (genm, genp) = _f.Ssl.Exchange("genm");
        RoundTrip(genm[0], PkiBodyType.Genm);
        PkiMessage genpMsg = RoundTrip(genp[0], PkiBodyType.Genp);
        Assert.IsType<GenMsgBody>(genpMsg.Body);
        var (rr, rp) = _f.Ssl.Exchange("rr", "-oldcert", "ca.crt");
        var rrBody = Assert.IsType<RevReqBody>(RoundTrip(rr[0], PkiBodyType.Rr).Body);
        using var old = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_f.Ssl.Dir, "ca.crt")));
        Assert.Equal(old.SerialNumberBytes.ToArray(), Assert.Single(rrBody.Requests).CertDetails.SerialNumber!.Value.ToArray());
        var rpBody = Assert.IsType<RevRepBody>(RoundTrip(rp[0], PkiBodyType.Rp).Body);
        Assert.Equal(0, Assert.Single(rpBody.Statuses).Status);
    }

    [Fact]
    public void ProtectedPartIsTheReceivedHeaderAndBody()
    {
        var (reqs, _) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-implicit_confirm");
        PkiMessage ir = PkiMessageCodec.Decode(reqs[0]).Message!;
        byte[] part = ir.GetProtectedPart();
        byte[] content = part[PrefixLength(part)..];
        Assert.Equal(content, Slice(reqs[0], content));
        Assert.Equal(0x30, part[0]);
    }

    [Fact]
    public void PasswordBasedMacOverTheProtectedPartMatchesOpenSsl()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("cr", "-newkey", "ca.key", "-subject", "/CN=dev");
        foreach (byte[] der in reqs.Concat(rsps))
        {
            PkiMessage m = PkiMessageCodec.Decode(der).Message!;
            Assert.Equal("1.2.840.113533.7.66.13", m.Header.ProtectionAlg!.Algorithm);
            var p = new System.Formats.Asn1.AsnReader(m.Header.ProtectionAlg.Parameters!.Value, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
            byte[] salt = p.ReadOctetString();
            string owf = ReadOid(p);
            int iterations = (int)p.ReadInteger();
            string mac = ReadOid(p);
            Assert.Equal("2.16.840.1.101.3.4.2.1", owf);
            byte[] key = [.. "sec"u8, .. salt];
            for (int i = 0; i < iterations; i++)
            {
                key = System.Security.Cryptography.SHA256.HashData(key);
            }

            byte[] expected = mac switch
            {
#pragma warning disable CA5350 // OpenSSL's PasswordBasedMac default is HMAC-SHA1; checked here, not chosen.
                "1.3.6.1.5.5.8.1.2" => System.Security.Cryptography.HMACSHA1.HashData(key, m.GetProtectedPart()),
#pragma warning restore CA5350
                "1.2.840.113549.2.9" => System.Security.Cryptography.HMACSHA256.HashData(key, m.GetProtectedPart()),
                _ => throw new InvalidOperationException(mac),
            };
            Assert.Equal(expected, m.Protection!.Value.ToArray());
        }
    }

    private static string ReadOid(System.Formats.Asn1.AsnReader reader)
    {
        var seq = reader.ReadSequence();
        string oid = seq.ReadObjectIdentifier();
        if (seq.HasData)
        {
            seq.ReadEncodedValue();
        }

        return oid;
    }

    [Fact]
    public void EveryTruncationIsRefusedWithoutException()
    {
        var (reqs, _) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-implicit_confirm");
        byte[] der = reqs[0];
        for (int n = 0; n < der.Length; n++)
        {
            CmpDecodeResult r = PkiMessageCodec.Decode(der.AsSpan(0, n));
            Assert.False(r.IsSuccess, $"truncation to {n} bytes accepted");
            Assert.NotNull(r.Reason);
        }
    }

    [Fact]
    public void EveryMessageOfAnExchangeRefusesTruncationAndCorruption()
    {
        var (reqs, rsps) = _f.Ssl.Exchange("cr", "-newkey", "ca.key", "-subject", "/CN=dev");
        var random = new Random(9);
        foreach (byte[] der in reqs.Concat(rsps))
        {
            for (int n = 0; n < der.Length; n++)
            {
                Assert.False(PkiMessageCodec.Decode(der.AsSpan(0, n)).IsSuccess);
            }

            for (int i = 0; i < 2000; i++)
            {
                byte[] corrupt = (byte[])der.Clone();
                corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
                CmpDecodeResult r = PkiMessageCodec.Decode(corrupt);
                Assert.True(r.IsSuccess ? r.Reason is null : r.Reason is not null);
                if (r.IsSuccess)
                {
                    Assert.Equal(corrupt, PkiMessageCodec.Encode(r.Message));
                }
            }
        }
    }

    [Fact]
    public void UniversalBodyTagAndGarbageAreMalformed()
    {
        var (reqs, _) = _f.Ssl.Exchange("genm");
        byte[] der = reqs[0];
        PkiMessage genm = PkiMessageCodec.Decode(der).Message!;
        byte[] wrong = (byte[])der.Clone();
        wrong[FindBodyTag(wrong, genm)] = 0x30;
        Assert.Equal(CmpDecodeStatus.Malformed, PkiMessageCodec.Decode(wrong).Status);
        Assert.Equal(CmpDecodeStatus.Malformed, PkiMessageCodec.Decode([]).Status);
        Assert.Equal(CmpDecodeStatus.Malformed, PkiMessageCodec.Decode([0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]).Status);
    }

    [Fact]
    public void TrailingDataWrongTagOversizeAndDepthAreRefused()
    {
        var (reqs, _) = _f.Ssl.Exchange("ir", "-newkey", "ca.key", "-subject", "/CN=dev", "-implicit_confirm");
        byte[] der = reqs[0];
        Assert.Equal(CmpDecodeStatus.TrailingData, PkiMessageCodec.Decode([.. der, 0]).Status);
        byte[] wrongTag = (byte[])der.Clone();
        wrongTag[0] = 0x31;
        Assert.Equal(CmpDecodeStatus.Malformed, PkiMessageCodec.Decode(wrongTag).Status);
        Assert.Equal(CmpDecodeStatus.TooLarge, PkiMessageCodec.Decode(der, maxSize: der.Length - 1).Status);
        Assert.Equal(CmpDecodeStatus.TooDeep, PkiMessageCodec.Decode(der, maxDepth: 4).Status);
        for (int i = 0; i < der.Length; i++)
        {
            byte[] flipped = (byte[])der.Clone();
            flipped[i] ^= 0xFF;
            _ = PkiMessageCodec.Decode(flipped).Status;
        }
    }

    [Fact]
    public void UnknownBodyIsKeptAsUnsupported()
    {
        var (reqs, _) = _f.Ssl.Exchange("genm");
        PkiMessage genm = PkiMessageCodec.Decode(reqs[0]).Message!;
        byte[] der = reqs[0];
        int bodyAt = FindBodyTag(der, genm);
        der[bodyAt] = 0xA0 | 9; // krr
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        var body = Assert.IsType<UnsupportedBody>(r.Message.Body);
        Assert.Equal(PkiBodyType.Krr, body.BodyType);
    }

    private static int FindBodyTag(byte[] der, PkiMessage message)
    {
        byte[] part = message.GetProtectedPart();
        byte[] content = part[PrefixLength(part)..];
        int start = IndexOf(der, content);
        var header = new System.Formats.Asn1.AsnReader(content, System.Formats.Asn1.AsnEncodingRules.DER);
        return start + header.PeekEncodedValue().Length;
    }

    private static int PrefixLength(byte[] seq) => seq[1] < 0x80 ? 2 : 2 + (seq[1] & 0x7F);

    private static byte[] Slice(byte[] haystack, ReadOnlyMemory<byte> needle)
    {
        int at = IndexOf(haystack, needle.ToArray());
        Assert.True(at >= 0, "not found in the received bytes");
        return haystack.AsSpan(at, needle.Length).ToArray();
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
