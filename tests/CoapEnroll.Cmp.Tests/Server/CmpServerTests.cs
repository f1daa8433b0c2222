using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>The CMP server through its public surface: DER in, DER out, against a real CA and store.</summary>
public sealed class CmpServerTests
{
    [Fact]
    public async Task MacIr_WithImplicitConfirm_IsIssuedAndTheAnswerIsProtectedWithTheSameSecret()
    {
        await using var f = await CreateAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            PkiMessage ip = await f.SendAsync(ir);
            CertResponse response = SingleResponse(ip, PkiBodyType.Ip);
            Assert.Equal((int)PkiStatus.Accepted, response.Status.Status);
            using var issued = X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
            Assert.Equal("CN=dev-1", issued.Subject);
            Assert.True(ip.Header.ImplicitConfirm);
            Assert.True(ip.Header.TransactionId!.Value.Span.SequenceEqual(ir.Header.TransactionId!.Value.Span));
            Assert.True(ip.Header.RecipNonce!.Value.Span.SequenceEqual(ir.Header.SenderNonce!.Value.Span));
            Assert.True(CmpProtection.VerifyMac(ip, Encoding.UTF8.GetBytes(Dev1Secret), new CmpMacPolicy()).IsValid);
            Assert.False(CmpProtection.VerifyMac(ip, Encoding.UTF8.GetBytes(Dev2Secret), new CmpMacPolicy()).IsValid);

            // caPubs carries the root for a MAC-protected ir; extraCerts the issuing chain.
            Assert.True(Assert.Single(((CertRepMessageBody)ip.Body).CaPubs!).Span.SequenceEqual(f.Bootstrap.Hierarchy.TrustAnchor.RawData));
            Assert.Contains(ip.ExtraCerts!, c => c.Span.SequenceEqual(f.Bootstrap.Hierarchy.IssuingCa.RawData));
            Assert.Equal(0, f.Server.OpenTransactions);
            Assert.Equal(1, await f.CertificateCountAsync());
        }
    }

    [Fact]
    public async Task CertConf_WithTheRightHash_IsAnsweredPkiConf_AndAWrongHashRevokes()
    {
        await using var f = await CreateAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        PkiMessage ip = await f.SendAsync(ir);
        using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(ip, PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
        Assert.False(ip.Header.ImplicitConfirm);
        Assert.NotNull(ip.Header.ConfirmWaitTime);
        Assert.Equal(1, f.Server.OpenTransactions);

        // A recipNonce that is not the server's senderNonce: refused, the transaction stays open.
        PkiMessage badNonce = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, ir.Header.TransactionId!.Value.ToArray(), CmpRequests.NewId()), issued), Dev1Secret);
        AssertError(await f.SendAsync(badNonce), PkiFailureInfo.BadRecipientNonce);

        // Another requester cannot confirm it.
        PkiMessage stranger = Mac(CmpRequests.CertificateConfirmation(Header(Dev2, ir.Header.TransactionId!.Value.ToArray(), ip.Header.SenderNonce), issued), Dev2Secret);
        AssertError(await f.SendAsync(stranger), PkiFailureInfo.NotAuthorized);
        Assert.Equal(1, f.Server.OpenTransactions);

        PkiMessage certConf = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, ir.Header.TransactionId!.Value.ToArray(), ip.Header.SenderNonce), issued), Dev1Secret);
        PkiMessage pkiConf = await f.SendAsync(certConf);
        Assert.IsType<PkiConfBody>(pkiConf.Body);
        Assert.Equal(0, f.Server.OpenTransactions);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);

        // Second issuance, confirmed with the hash of another certificate: revoked.
        (PkiMessage ir2, ECDsa key2) = MacIr(Dev1, Dev1Secret);
        key2.Dispose();
        PkiMessage ip2 = await f.SendAsync(ir2);
        using var second = X509CertificateLoader.LoadCertificate(SingleResponse(ip2, PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
        PkiMessage wrongHash = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, ir2.Header.TransactionId!.Value.ToArray(), ip2.Header.SenderNonce), issued), Dev1Secret);
        AssertError(await f.SendAsync(wrongHash), PkiFailureInfo.BadCertId);
        Assert.Equal(CertificateStatus.Revoked, (await f.Store.GetCertificateAsync(second.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task CertificateNeverConfirmed_IsRevokedAfterConfirmWaitTime()
    {
        await using var f = await CreateAsync(o => o.ConfirmWaitTime = TimeSpan.FromMinutes(2));
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);

        f.Time.Advance(TimeSpan.FromMinutes(1));
        await f.Server.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);

        f.Time.Advance(TimeSpan.FromMinutes(2));
        await f.Server.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Revoked, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);
        Assert.Equal(0, f.Server.OpenTransactions);
    }

    [Fact]
    public async Task ProtectionRefusals_IssueNothing()
    {
        await using var f = await CreateAsync(o => o.MinIterations = 1000);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiMessage Unprotected() => CmpRequests.CertificateRequest(PkiBodyType.Ir, Header(Dev1, implicitConfirm: true), new X500DistinguishedName("CN=dev-1"), key);

        AssertError(await f.SendAsync(Unprotected()), PkiFailureInfo.BadMessageCheck);
        AssertError(await f.SendAsync(Mac(Unprotected(), "wrong secret")), PkiFailureInfo.BadMessageCheck);
        AssertError(await f.SendAsync(Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, Header("nobody", implicitConfirm: true),
            new X500DistinguishedName("CN=nobody"), key), "x")), PkiFailureInfo.BadMessageCheck);
        AssertError(await f.SendAsync(Mac(Unprotected(), Dev1Secret, iterations: 999)), PkiFailureInfo.BadAlg);

        // Signed by a certificate nobody trusts.
        using var selfSigned = new CertificateRequest("CN=dev-1", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        PkiMessage signed = CmpProtection.ProtectWithSignature(CmpRequests.CertificateRequest(PkiBodyType.Ir,
            CmpRequests.Header(selfSigned.SubjectName, null, null, CmpRequests.NewId(), implicitConfirm: true), new X500DistinguishedName("CN=dev-1"), key), selfSigned, []);
        AssertError(await f.SendAsync(signed), PkiFailureInfo.SignerNotTrusted);

        // A tampered body after protection: the MAC no longer verifies.
        byte[] der = PkiMessageCodec.Encode(Mac(Unprotected(), Dev1Secret));
        int at = der.AsSpan().IndexOf("dev-1"u8.ToArray()) + 4;
        der[at] ^= 0x01;
        CmpExchangeResult tampered = await f.Server.HandleAsync(der, Context(), CancellationToken.None);
        AssertError(PkiMessageCodec.Decode(tampered.Response).Message!, PkiFailureInfo.BadMessageCheck);
        Assert.Equal(0, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task ReplayedTransaction_ReusedNonce_AndMessageTime_AreRefused()
    {
        await using var f = await CreateAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip);
            AssertError(await f.SendAsync(ir), PkiFailureInfo.TransactionIdInUse);

            // A new transaction reusing the first message's senderNonce.
            PkiHeader reused = Header(Dev1, implicitConfirm: true);
            reused = new PkiHeader
            {
                Sender = reused.Sender, Recipient = reused.Recipient, MessageTime = reused.MessageTime, SenderKid = reused.SenderKid,
                TransactionId = reused.TransactionId, SenderNonce = ir.Header.SenderNonce, GeneralInfo = reused.GeneralInfo,
            };
            PkiMessage again = Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, reused, new X500DistinguishedName("CN=dev-1"), key), Dev1Secret);
            AssertError(await f.SendAsync(again), PkiFailureInfo.BadSenderNonce);

            PkiMessage late = Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, Header(Dev1, implicitConfirm: true, time: f.Time.GetUtcNow().AddHours(-1)),
                new X500DistinguishedName("CN=dev-1"), key), Dev1Secret);
            AssertError(await f.SendAsync(late), PkiFailureInfo.BadTime);
            Assert.Equal(1, await f.CertificateCountAsync());
        }
    }

    [Fact]
    public async Task NamesAndProofOfPossession_AreTheEnrollmentCoresDecision()
    {
        await using var f = await CreateAsync();

        // dev-1's secret is bound to CN=dev-1.
        (PkiMessage other, ECDsa k1) = MacIr(Dev1, Dev1Secret, implicitConfirm: true, subject: "CN=someone-else");
        k1.Dispose();
        CertResponse refused = SingleResponse(await f.SendAsync(other), PkiBodyType.Ip);
        Assert.Equal((int)PkiStatus.Rejection, refused.Status.Status);
        Assert.Null(refused.CertifiedKeyPair);

        // A POP signature that does not verify.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiMessage ir = CmpRequests.CertificateRequest(PkiBodyType.Ir, Header(Dev1, implicitConfirm: true), new X500DistinguishedName("CN=dev-1"), key);
        CertReqMsg original = ((CertReqMessagesBody)ir.Body).Requests[0];
        byte[] signature = original.Popo!.Signature!.Value.ToArray();
        signature[^1] ^= 0x5A;
        var tampered = new PkiMessage
        {
            Header = ir.Header,
            Body = new CertReqMessagesBody(PkiBodyType.Ir)
            {
                Requests = [new CertReqMsg { CertReq = original.CertReq, Popo = new ProofOfPossession { Kind = ProofOfPossessionKind.Signature, SignatureAlgorithm = original.Popo.SignatureAlgorithm, Signature = signature } }],
            },
        };
        CertResponse badPop = SingleResponse(await f.SendAsync(Mac(tampered, Dev1Secret)), PkiBodyType.Ip);
        Assert.Equal((int)PkiFailureInfo.BadPop, badPop.Status.FailInfo);

        // A template without a public key asks for central key generation (CmpKeyGenerationTests): the names are still checked.
        var noKey = new PkiMessage
        {
            Header = Header(Dev1, implicitConfirm: true),
            Body = new CertReqMessagesBody(PkiBodyType.Ir)
            {
                Requests = [new CertReqMsg { CertReq = new CertRequest { CertReqId = 0, Template = new CertTemplate { Subject = new X500DistinguishedName("CN=someone-else").RawData } } }],
            },
        };
        CertResponse keygen = SingleResponse(await f.SendAsync(Mac(noKey, Dev1Secret)), PkiBodyType.Ip);
        Assert.Equal((int)PkiStatus.Rejection, keygen.Status.Status);
        Assert.Null(keygen.CertifiedKeyPair);
        Assert.Equal(0, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task MalformedOversizedAndMisplacedMessages()
    {
        await using var f = await CreateAsync();
        Assert.True((await f.Server.HandleAsync(new byte[] { 0x30, 0x03, 0x02, 0x01, 0x02 }, Context(), CancellationToken.None)).IsMalformed);
        Assert.True((await f.Server.HandleAsync(new byte[70_000], Context(), CancellationToken.None)).IsMalformed);

        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        key.Dispose();
        byte[] der = PkiMessageCodec.Encode(ir);
        for (int cut = 1; cut < der.Length; cut += 37)
        {
            Assert.True((await f.Server.HandleAsync(der.AsMemory(0, cut), Context(), CancellationToken.None)).IsMalformed);
        }

        // An ir at the revocation path.
        AssertError(await f.SendAsync(ir, Context("rr")), PkiFailureInfo.BadRequest);
        Assert.Equal(0, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task PerRequesterTransactionBound_CostsOnlyThatRequester()
    {
        await using var f = await CreateAsync(o => o.MaxOpenTransactionsPerRequester = 2);
        for (int i = 0; i < 2; i++)
        {
            (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
            key.Dispose();
            Assert.Equal((int)PkiStatus.Accepted, SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip).Status.Status);
        }

        (PkiMessage third, ECDsa k3) = MacIr(Dev1, Dev1Secret);
        k3.Dispose();
        AssertError(await f.SendAsync(third), PkiFailureInfo.SystemUnavail);

        (PkiMessage other, ECDsa k4) = MacIr(Dev2, Dev2Secret);
        k4.Dispose();
        Assert.Equal((int)PkiStatus.Accepted, SingleResponse(await f.SendAsync(other), PkiBodyType.Ip).Status.Status);
        Assert.Equal(3, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task Genm_CaCerts_RootUpdate_Template_Crls_AndAnUnknownInfoType()
    {
        await using var f = await CreateAsync();
        PkiMessage genm = Mac(CmpRequests.General(Header(Dev1), CmpInfoTypes.CaCerts, CmpInfoTypes.RootCaCert, CmpInfoTypes.CertReqTemplate, CmpInfoTypes.CrlStatusList), Dev1Secret);
        GenMsgBody genp = Assert.IsType<GenMsgBody>((await f.SendAsync(genm)).Body);
        Assert.Equal(PkiBodyType.Genp, genp.BodyType);
        Assert.Equal([CmpInfoTypes.CaCerts, CmpInfoTypes.RootCaKeyUpdate, CmpInfoTypes.CertReqTemplate, CmpInfoTypes.Crls], genp.Items.Select(i => i.InfoType));

        AsnReader certs = new AsnReader(genp.Items[0].Value!.Value, AsnEncodingRules.DER).ReadSequence();
        var received = new List<X509Certificate2>();
        while (certs.HasData)
        {
            received.Add(X509CertificateLoader.LoadCertificate(certs.ReadEncodedValue().Span));
        }

        Assert.Contains(received, c => c.Thumbprint == f.Bootstrap.Hierarchy.TrustAnchor.Thumbprint);
        Assert.Contains(received, c => c.Thumbprint == f.Bootstrap.Hierarchy.IssuingCa.Thumbprint);
        Assert.Null(genp.Items[1].Value);

        // The default profile's template: an empty certTemplate and keySpec naming EC P-256 (id-regCtrl-algId).
        AsnReader template = new AsnReader(genp.Items[2].Value!.Value, AsnEncodingRules.DER).ReadSequence();
        Assert.Equal(2, template.ReadEncodedValue().Length);
        AsnReader keySpec = template.ReadSequence();
        AsnReader first = keySpec.ReadSequence();
        Assert.Equal("1.3.6.1.5.5.7.5.1.11", first.ReadObjectIdentifier());
        AsnReader algorithm = first.ReadSequence();
        Assert.Equal("1.2.840.10045.2.1", algorithm.ReadObjectIdentifier());
        Assert.Equal("1.2.840.10045.3.1.7", algorithm.ReadObjectIdentifier());

        AsnReader crls = new AsnReader(genp.Items[3].Value!.Value, AsnEncodingRules.DER).ReadSequence();
        Assert.True(crls.ReadEncodedValue().Length > 0);

        AssertError(await f.SendAsync(Mac(CmpRequests.General(Header(Dev1), "1.3.6.1.5.5.7.4.6"), Dev1Secret)), PkiFailureInfo.BadRequest);
    }

    [Fact]
    public async Task Rr_ByTheHolder_Revokes_AndTheRevokedCertificateCannotSignAgain_ButItsRepeatIsAnsweredAlreadyRevoked()
    {
        await using var f = await CreateAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
            using X509Certificate2 holder = issued.CopyWithPrivateKey(key);
            PkiMessage rr = CmpProtection.ProtectWithSignature(
                CmpRequests.Revocation(CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId()), holder.IssuerName, holder.SerialNumberBytes.ToArray(), reason: 1),
                holder, []);
            RevRepBody rp = Assert.IsType<RevRepBody>((await f.SendAsync(rr)).Body);
            Assert.Equal((int)PkiStatus.Accepted, Assert.Single(rp.Statuses).Status);
            Assert.Equal(CertificateStatus.Revoked, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);

            // The same rr again (its rp lost): the rp for an already revoked certificate (RFC 9483 §4.2), rejection with certRevoked.
            PkiMessage again = CmpProtection.ProtectWithSignature(
                CmpRequests.Revocation(CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId()), holder.IssuerName, holder.SerialNumberBytes.ToArray()),
                holder, []);
            PkiStatusInfo repeated = Assert.Single(Assert.IsType<RevRepBody>((await f.SendAsync(again)).Body).Statuses);
            Assert.Equal((int)PkiStatus.Rejection, repeated.Status);
            Assert.Equal((int)PkiFailureInfo.CertRevoked, repeated.FailInfo);

            // Anything else it signs: the error of a revoked signer.
            AssertError(await f.SendAsync(CmpProtection.ProtectWithSignature(
                CmpRequests.General(CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId()), CmpInfoTypes.CaCerts), holder, [])), PkiFailureInfo.CertRevoked);
        }
    }
    [Fact]
    public async Task Recipient_NullDnOrThisCa_IsAccepted_AnotherAuthorityIsWrongAuthority()
    {
        await using var f = await CreateAsync();
        CaHierarchy hierarchy = f.Bootstrap.Hierarchy;
        PkiMessage IrTo(CmpGeneralName recipient)
        {
            // A new key each time: the same request again would be answered with the certificate already issued for it.
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            PkiHeader h = Header(Dev1, implicitConfirm: true);
            return Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, new PkiHeader
            {
                Sender = h.Sender, Recipient = recipient, MessageTime = h.MessageTime, SenderKid = h.SenderKid,
                TransactionId = h.TransactionId, SenderNonce = h.SenderNonce, GeneralInfo = h.GeneralInfo,
            }, new X500DistinguishedName("CN=dev-1"), key), Dev1Secret);
        }

        // NULL-DN (what a device that knows nothing sends), the issuing CA, the root, and the CMP signer (openssl -srvcert); case and
        // spacing of the name do not matter.
        string issuerRespelled = hierarchy.IssuingCa.SubjectName.Format(false).ToUpperInvariant();
        foreach (X500DistinguishedName name in new[] { new X500DistinguishedName([0x30, 0x00]), hierarchy.IssuingCa.SubjectName,
            hierarchy.TrustAnchor.SubjectName, f.Bootstrap.ServerCredential.Certificate.SubjectName, new X500DistinguishedName(issuerRespelled) })
        {
            PkiMessage ip = await f.SendAsync(IrTo(CmpGeneralName.FromDirectoryName(name)));
            Assert.True((int)PkiStatus.Accepted == SingleResponse(ip, PkiBodyType.Ip).Status.Status, name.Name);
        }

        Assert.Equal(5, await f.CertificateCountAsync());

        // Another CA's name: wrongAuthority, MAC-protected with the requester's secret like every other answer, nothing issued.
        PkiMessage foreign = await f.SendAsync(IrTo(CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=Some Other CA, O=Elsewhere"))));
        AssertError(foreign, PkiFailureInfo.WrongAuthority);
        Assert.Contains("Some Other CA", Assert.Single(((ErrorBody)foreign.Body).StatusInfo.StatusString!), StringComparison.Ordinal);
        Assert.True(CmpProtection.VerifyMac(foreign, Encoding.UTF8.GetBytes(Dev1Secret), new CmpMacPolicy()).IsValid);

        // A recipient that is not a directoryName (rfc822Name [1] "ca@example.com").
        byte[] mail = [0x81, 0x0E, .. "ca@example.com"u8];
        AssertError(await f.SendAsync(IrTo(CmpGeneralName.FromEncoded(mail))), PkiFailureInfo.WrongAuthority);
        Assert.Equal(5, await f.CertificateCountAsync());
    }
}
