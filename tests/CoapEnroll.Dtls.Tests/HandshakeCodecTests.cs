using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

public class HandshakeCodecTests
{
    internal delegate bool Parser<T>(ReadOnlySpan<byte> body, [NotNullWhen(true)] out T? message) where T : HandshakeMessage;

    /// <summary>Round trip; every strict prefix and every one-byte extension must be rejected, except
    /// the given prefix lengths where an optional trailing part (hello extensions) legitimately ends.</summary>
    internal static T AssertCodec<T>(T message, Parser<T> parse, params int[] validPrefixes) where T : HandshakeMessage
    {
        byte[] encoded = message.Encode();
        Assert.True(parse(encoded, out T? parsed));
        Assert.Equal(message.Type, parsed.Type);
        Assert.Equal(encoded, parsed.Encode());
        for (int i = 0; i < encoded.Length; i++)
        {
            bool ok = parse(encoded.AsSpan(0, i), out _);
            Assert.True(ok == validPrefixes.Contains(i), $"prefix {i} of {encoded.Length}: {ok}");
        }

        Assert.False(parse([.. encoded, 0], out _));
        return parsed;
    }

    private static ClientHello SampleClientHello(byte[] cookie) => new()
    {
        Random = RandomNumberGenerator.GetBytes(32),
        SessionId = [],
        Cookie = cookie,
        CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, (CipherSuite)0x00FF],
        CompressionMethods = [0],
        Extensions =
        [
            TlsExtensions.SupportedGroups(NamedGroup.Secp256r1),
            TlsExtensions.EcPointFormatsUncompressed(),
            TlsExtensions.SignatureAlgorithms(SignatureScheme.EcdsaSecp256r1Sha256),
            TlsExtensions.ExtendedMasterSecret(),
            TlsExtensions.RenegotiationInfoInitial(),
            TlsExtensions.ConnectionId([1, 2, 3, 4]),
            TlsExtensions.ServerName("est.example"),
        ],
    };

    [Fact]
    public void ClientHello_RoundTrip_Truncation()
    {
        ClientHello hello = SampleClientHello([9, 9, 9]);
        int extensionsStart = 2 + 32 + 1 + 1 + 3 + 2 + 6 + 1 + 1;
        ClientHello parsed = AssertCodec(hello, ClientHello.TryParse, extensionsStart);
        Assert.Equal(hello.Random, parsed.Random);
        Assert.Equal(hello.Cookie, parsed.Cookie);
        Assert.Equal(hello.CipherSuites, parsed.CipherSuites);
        Assert.Equal(7, parsed.Extensions.Count);
        Assert.True(TlsExtensions.TryParseConnectionId(TlsExtensions.Find(parsed.Extensions, ExtensionType.ConnectionId)!.Data, out byte[]? cid));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, cid);
        Assert.True(TlsExtensions.TryParseServerName(TlsExtensions.Find(parsed.Extensions, ExtensionType.ServerName)!.Data, out string? host));
        Assert.Equal("est.example", host);
        Assert.True(TlsExtensions.TryParseSupportedGroups(parsed.Extensions[0].Data, out NamedGroup[]? groups));
        Assert.Equal([NamedGroup.Secp256r1], groups);
        Assert.True(TlsExtensions.TryParseSignatureAlgorithms(parsed.Extensions[2].Data, out SignatureScheme[]? schemes));
        Assert.Equal([SignatureScheme.EcdsaSecp256r1Sha256], schemes);
        Assert.True(TlsExtensions.TryParseEcPointFormats(parsed.Extensions[1].Data, out byte[]? formats));
        Assert.Equal(new byte[] { 0 }, formats);
        Assert.True(TlsExtensions.IsInitialRenegotiationInfo(parsed.Extensions[4].Data));
    }

    [Fact]
    public void ClientHello_WithoutExtensions_AndWithoutNullCompression()
    {
        var hello = new ClientHello { CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] };
        AssertCodec(hello, ClientHello.TryParse);
        byte[] noNull = new ClientHello { CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], CompressionMethods = [1] }.Encode();
        Assert.False(ClientHello.TryParse(noNull, out _));
    }

    [Fact]
    public void ClientHello_InconsistentInnerLengths_Rejected()
    {
        byte[] encoded = SampleClientHello([]).Encode();
        // cipher_suites length odd
        byte[] odd = (byte[])encoded.Clone();
        int suitesLengthOffset = 2 + 32 + 1 + 1;
        odd[suitesLengthOffset + 1] = 5;
        Assert.False(ClientHello.TryParse(odd, out _));
        // session_id longer than 32
        byte[] longSession = (byte[])encoded.Clone();
        longSession[34] = 33;
        Assert.False(ClientHello.TryParse(longSession, out _));
        // duplicate extension types
        byte[] twoEms = [0, 8, 0, 23, 0, 0, 0, 23, 0, 0];
        byte[] prefix = new ClientHello { CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8] }.Encode();
        Assert.False(ClientHello.TryParse([.. prefix, .. twoEms], out _));
        Assert.True(ClientHello.TryParse([.. prefix, 0, 8, 0, 23, 0, 0, 0, 22, 0, 0], out _));
        // an extension whose inner length overruns the block
        Assert.False(ClientHello.TryParse([.. prefix, 0, 4, 0, 23, 0, 1], out _));
        Assert.Throws<InvalidOperationException>(() =>
            new ClientHello { CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8], Extensions = [TlsExtensions.ExtendedMasterSecret(), TlsExtensions.ExtendedMasterSecret()] }.Encode());
    }

    [Fact]
    public void HelloVerifyRequest_RoundTrip() => AssertCodec(new HelloVerifyRequest { Cookie = RandomNumberGenerator.GetBytes(32) }, HelloVerifyRequest.TryParse);

    [Fact]
    public void ServerHello_RoundTrip()
    {
        var hello = new ServerHello
        {
            Random = RandomNumberGenerator.GetBytes(32),
            SessionId = RandomNumberGenerator.GetBytes(32),
            CipherSuite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
            Extensions = [TlsExtensions.ExtendedMasterSecret(), TlsExtensions.RenegotiationInfoInitial(), TlsExtensions.ConnectionId([7])],
        };
        ServerHello parsed = AssertCodec(hello, ServerHello.TryParse, 2 + 32 + 33 + 3);
        Assert.Equal(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, parsed.CipherSuite);
        AssertCodec(new ServerHello { CipherSuite = CipherSuite.TLS_PSK_WITH_AES_128_CCM_8 }, ServerHello.TryParse);
    }

    [Fact]
    public void Certificate_RoundTrip()
    {
        var msg = new CertificateMessage { Certificates = [RandomNumberGenerator.GetBytes(300), RandomNumberGenerator.GetBytes(5)] };
        CertificateMessage parsed = AssertCodec(msg, CertificateMessage.TryParse);
        Assert.Equal(2, parsed.Certificates.Count);
        AssertCodec(new CertificateMessage(), CertificateMessage.TryParse);
        Assert.False(CertificateMessage.TryParse([0, 0, 3, 0, 0, 0], out _)); // zero-length ASN.1Cert
    }

    [Fact]
    public void EcdheServerKeyExchange_RoundTrip()
    {
        using EcdheKeyExchange kx = EcdheKeyExchange.Create();
        var msg = new EcdheServerKeyExchange { PublicPoint = kx.PublicPoint, Signature = RandomNumberGenerator.GetBytes(71) };
        EcdheServerKeyExchange parsed = AssertCodec(msg, EcdheServerKeyExchange.TryParse);
        Assert.Equal(NamedGroup.Secp256r1, parsed.Group);
        Assert.Equal(kx.PublicPoint, parsed.PublicPoint);
        Assert.Equal([3, 0, 23, 65, .. kx.PublicPoint], parsed.Parameters);
        byte[] explicitCurve = msg.Encode();
        explicitCurve[0] = 1;
        Assert.False(EcdheServerKeyExchange.TryParse(explicitCurve, out _));
    }

    [Fact]
    public void PskServerKeyExchange_RoundTrip()
    {
        AssertCodec(new PskServerKeyExchange { IdentityHint = "hint"u8.ToArray() }, PskServerKeyExchange.TryParse);
        AssertCodec(new PskServerKeyExchange(), PskServerKeyExchange.TryParse);
    }

    [Fact]
    public void CertificateRequest_RoundTrip()
    {
        var msg = new CertificateRequest
        {
            CertificateTypes = [ClientCertificateType.EcdsaSign],
            SignatureAlgorithms = [SignatureScheme.EcdsaSecp256r1Sha256, SignatureScheme.EcdsaSecp384r1Sha384],
            CertificateAuthorities = [RandomNumberGenerator.GetBytes(40), [0x30, 0x00]],
        };
        CertificateRequest parsed = AssertCodec(msg, CertificateRequest.TryParse);
        Assert.Equal(2, parsed.CertificateAuthorities.Count);
        Assert.Equal(msg.SignatureAlgorithms, parsed.SignatureAlgorithms);
        AssertCodec(new CertificateRequest(), CertificateRequest.TryParse);
    }

    [Fact]
    public void ServerHelloDone_RoundTrip() => AssertCodec(new ServerHelloDone(), ServerHelloDone.TryParse);

    [Fact]
    public void ClientKeyExchange_RoundTrip()
    {
        using EcdheKeyExchange kx = EcdheKeyExchange.Create();
        AssertCodec(new EcdheClientKeyExchange { PublicPoint = kx.PublicPoint }, EcdheClientKeyExchange.TryParse);
        AssertCodec(new PskClientKeyExchange { Identity = "device-17"u8.ToArray() }, PskClientKeyExchange.TryParse);
        Assert.False(EcdheClientKeyExchange.TryParse([0], out _)); // empty point
    }

    [Fact]
    public void CertificateVerify_And_Finished_RoundTrip()
    {
        AssertCodec(new CertificateVerify { Signature = RandomNumberGenerator.GetBytes(72) }, CertificateVerify.TryParse);
        AssertCodec(new Finished { VerifyData = RandomNumberGenerator.GetBytes(12) }, Finished.TryParse);
    }
}
