using System.Formats.Asn1;
using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>CRL announcements (crlann): built by the CMP server, kept current by <see cref="CmpAnnouncer"/>.</summary>
public sealed class CmpAnnouncementTests
{
    [Fact]
    public async Task AfterAnRr_TheAnnouncementIsASignedCrlannListingTheSerial()
    {
        await using var f = await CreateAsync();
        using var announcer = new CmpAnnouncer(f.Server, f.Authority);
        CmpAnnouncement before = await announcer.GetLatestAsync(CancellationToken.None);
        Assert.False(await announcer.CheckAsync(CancellationToken.None));

        var revoked = new List<CmpRevocationEventArgs>();
        f.Server.CertificateRevoked += (_, e) => revoked.Add(e);
        var announced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        announcer.Announced += (_, _) => announced.TrySetResult();

        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
            using X509Certificate2 holder = issued.CopyWithPrivateKey(key);
            PkiMessage rr = CmpProtection.ProtectWithSignature(
                CmpRequests.Revocation(CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId()), holder.IssuerName, holder.SerialNumberBytes.ToArray(), reason: 1),
                holder, []);
            Assert.Equal((int)PkiStatus.Accepted, Assert.Single(Assert.IsType<RevRepBody>((await f.SendAsync(rr)).Body).Statuses).Status);

            CmpRevocationEventArgs e = Assert.Single(revoked);
            Assert.Equal(issued.SerialNumber, e.SerialHex, ignoreCase: true);
            Assert.Equal(1, e.Reason);

            // The announcer heard the revocation and made a new announcement without being asked.
            await announced.Task.WaitAsync(TimeSpan.FromSeconds(10));
            CmpAnnouncement after = announcer.Latest!;
            Assert.NotSame(before, after);
            Assert.True(after.CrlNumber > before.CrlNumber);

            CmpDecodeResult decoded = PkiMessageCodec.Decode(after.Der.Span);
            Assert.True(decoded.IsSuccess, decoded.Reason);
            PkiMessage message = decoded.Message!;
            CrlAnnBody crlann = Assert.IsType<CrlAnnBody>(message.Body);
            Assert.Equal(PkiBodyType.Crlann, after.BodyType);
            Assert.Contains(Convert.FromHexString(issued.SerialNumber).AsMemory(), RevokedSerials(Assert.Single(crlann.Crls)), new BytesComparer());
            Assert.Empty(RevokedSerials(Assert.IsType<CrlAnnBody>(PkiMessageCodec.Decode(before.Der.Span).Message!.Body).Crls[0]));

            // Signed by the server's CMP certificate, which comes first in extraCerts; the CRL by the issuing CA.
            X509Certificate2 signer = f.Bootstrap.ServerCredential.Certificate;
            Assert.Equal(CmpProtectionKind.Signature, CmpProtection.GetKind(message));
            Assert.True(message.ExtraCerts![0].Span.SequenceEqual(signer.RawData));
            CmpProtectionResult verified = CmpProtection.VerifySignature(message, signer);
            Assert.True(verified.IsValid, verified.Detail);
            Assert.True(message.Header.Recipient.IsNullDirectoryName);
            Assert.Equal(16, message.Header.TransactionId!.Value.Length);
            CertificateRevocationListBuilder.Load(crlann.Crls[0].ToArray(), out BigInteger number);
            Assert.Equal(after.CrlNumber, number);

            // Nothing changed since: no new announcement.
            Assert.False(await announcer.CheckAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task ARevocationElsewhere_IsFoundByTheCrlNumber()
    {
        await using var f = await CreateAsync();
        using var announcer = new CmpAnnouncer(f.Server, f.Authority);
        Assert.True(await announcer.CheckAsync(CancellationToken.None));
        int announced = 0;
        announcer.Announced += (_, _) => announced++;

        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(await f.SendAsync(ir), PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
            Assert.Equal(RevocationStatus.Revoked, (await f.Authority.RevokeAsync(issued.SerialNumber, 4, "operator", CancellationToken.None)).Status);
            Assert.True(await announcer.CheckAsync(CancellationToken.None));
            Assert.Equal(1, announced);
            CrlAnnBody crlann = Assert.IsType<CrlAnnBody>(PkiMessageCodec.Decode(announcer.Latest!.Der.Span).Message!.Body);
            Assert.Contains(Convert.FromHexString(issued.SerialNumber).AsMemory(), RevokedSerials(crlann.Crls[0]), new BytesComparer());
        }
    }

    [Fact]
    public void CrlAnnBody_RoundTrips_AndAnEmptyOneIsRefused()
    {
        byte[] crl = [0x30, 0x03, 0x02, 0x01, 0x05];
        var message = new PkiMessage
        {
            Header = new PkiHeader
            {
                Sender = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ca")),
                Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ee")),
            },
            Body = new CrlAnnBody { Crls = [crl, crl] },
        };
        byte[] der = PkiMessageCodec.Encode(message);
        CrlAnnBody decoded = Assert.IsType<CrlAnnBody>(PkiMessageCodec.Decode(der).Message!.Body);
        Assert.Equal(2, decoded.Crls.Count);
        Assert.True(decoded.Crls[1].Span.SequenceEqual(crl));

        byte[] empty = PkiMessageCodec.Encode(new PkiMessage { Header = message.Header, Body = new CrlAnnBody { Crls = [] } });
        Assert.False(PkiMessageCodec.Decode(empty).IsSuccess);
    }

    [Fact]
    public void CkuAnnBody_V3AndV2_RoundTrip()
    {
        byte[] a = [0x30, 0x03, 0x02, 0x01, 0x01];
        byte[] b = [0x30, 0x03, 0x02, 0x01, 0x02];
        byte[] c = [0x30, 0x03, 0x02, 0x01, 0x03];
        var header = new PkiHeader
        {
            Pvno = 3,
            Sender = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ca")),
            Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ee")),
        };

        CmpDecodeResult decodedV3 = PkiMessageCodec.Decode(PkiMessageCodec.Encode(new PkiMessage { Header = header, Body = new CkuAnnBody { NewWithNew = a, OldWithNew = c } }));
        Assert.True(decodedV3.IsSuccess, decodedV3.Reason);
        CkuAnnBody v3 = Assert.IsType<CkuAnnBody>(decodedV3.Message!.Body);
        Assert.True(v3.IsV3);
        Assert.True(v3.NewWithNew.Span.SequenceEqual(a));
        Assert.Null(v3.NewWithOld);
        Assert.True(v3.OldWithNew!.Value.Span.SequenceEqual(c));

        CkuAnnBody v2 = Assert.IsType<CkuAnnBody>(PkiMessageCodec.Decode(PkiMessageCodec.Encode(
            new PkiMessage { Header = header, Body = new CkuAnnBody { IsV3 = false, OldWithNew = a, NewWithOld = b, NewWithNew = c } })).Message!.Body);
        Assert.False(v2.IsV3);
        Assert.True(v2.OldWithNew!.Value.Span.SequenceEqual(a) && v2.NewWithOld!.Value.Span.SequenceEqual(b) && v2.NewWithNew.Span.SequenceEqual(c));
    }

    /// <summary>The userCertificate serials of a CertificateList's revokedCertificates (RFC 5280 §5.1), as unsigned big-endian bytes.</summary>
    private static List<ReadOnlyMemory<byte>> RevokedSerials(ReadOnlyMemory<byte> certificateList)
    {
        AsnReader tbs = new AsnReader(certificateList, AsnEncodingRules.DER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger();
        }

        tbs.ReadSequence(); // signature
        tbs.ReadSequence(); // issuer
        tbs.ReadEncodedValue(); // thisUpdate
        var serials = new List<ReadOnlyMemory<byte>>();
        if (tbs.HasData && !tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            tbs.ReadEncodedValue(); // nextUpdate
        }

        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            AsnReader entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                ReadOnlyMemory<byte> serial = entries.ReadSequence().ReadIntegerBytes();
                serials.Add(serial.Length > 1 && serial.Span[0] == 0 ? serial[1..] : serial);
            }
        }

        return serials;
    }

    private sealed class BytesComparer : IEqualityComparer<ReadOnlyMemory<byte>>
    {
        public bool Equals(ReadOnlyMemory<byte> x, ReadOnlyMemory<byte> y) => x.Span.SequenceEqual(y.Span);

        public int GetHashCode(ReadOnlyMemory<byte> obj) => obj.Length;
    }
}
