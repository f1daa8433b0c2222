using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cmp.Tests.Protection;

/// <summary>Messages and keys for the protection tests.</summary>
internal static class ProtectionTestData
{
    /// <summary>The certHash of <see cref="Unprotected"/>'s body: a run of bytes easy to find and flip in the DER.</summary>
    public static readonly byte[] Marker = Enumerable.Repeat((byte)0xA5, 32).ToArray();

    public static PkiMessage Unprotected(ReadOnlyMemory<byte>? senderKid = null) => new()
    {
        Header = new PkiHeader
        {
            Sender = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=dev")),
            Recipient = CmpGeneralName.FromDirectoryName(new X500DistinguishedName("CN=ca")),
            MessageTime = new DateTimeOffset(2026, 12, 5, 13, 0, 0, TimeSpan.Zero),
            SenderKid = senderKid,
            TransactionId = RandomNumberGenerator.GetBytes(16),
            SenderNonce = RandomNumberGenerator.GetBytes(16),
        },
        Body = new CertConfBody { Statuses = [new CertStatus { CertHash = Marker, CertReqId = 0 }] },
    };

    /// <summary>Encodes and decodes, so the message verifies over its received bytes as a receiver's would.</summary>
    public static PkiMessage Received(PkiMessage message)
    {
        CmpDecodeResult r = PkiMessageCodec.Decode(PkiMessageCodec.Encode(message));
        Assert.True(r.IsSuccess, r.Reason);
        return r.Message;
    }

    /// <summary>The message's DER with one bit of the body's certHash flipped, decoded again.</summary>
    public static PkiMessage TamperedBody(PkiMessage message)
    {
        byte[] der = PkiMessageCodec.Encode(message);
        int at = der.AsSpan().IndexOf(Marker);
        Assert.True(at > 0);
        der[at + 7] ^= 0x01;
        CmpDecodeResult r = PkiMessageCodec.Decode(der);
        Assert.True(r.IsSuccess, r.Reason);
        return r.Message;
    }

    public static PkiMessage WithAlg(PkiMessage message, string oid, ReadOnlyMemory<byte>? parameters, byte[]? protection = null) => new()
    {
        Header = message.Header.WithProtectionAlg(new CmpAlgorithmIdentifier { Algorithm = oid, Parameters = parameters }),
        Body = message.Body,
        Protection = protection ?? message.Protection ?? new byte[32],
        ExtraCerts = message.ExtraCerts,
    };

    public static X509Certificate2 EcCert(ECCurve curve, string cn)
    {
        using ECDsa key = ECDsa.Create(curve);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256);
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public static X509Certificate2 RsaCert(string cn)
    {
        using RSA key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={cn}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public static X509Certificate2 PublicOnly(X509Certificate2 cert) => X509CertificateLoader.LoadCertificate(cert.RawData);

    /// <summary>A DER SEQUENCE wrapping arbitrary content bytes: a valid TLV with whatever inside.</summary>
    public static byte[] Sequence(ReadOnlySpan<byte> content) => [.. SequenceHeader(content.Length), .. content];

    private static byte[] SequenceHeader(int length) => length switch
    {
        < 0x80 => [0x30, (byte)length],
        < 0x100 => [0x30, 0x81, (byte)length],
        _ => [0x30, 0x82, (byte)(length >> 8), (byte)length],
    };
}
