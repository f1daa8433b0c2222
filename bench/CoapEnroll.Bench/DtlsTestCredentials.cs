using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;
using X509Request = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Bench;

/// <summary>
/// Throw-away ECDSA P-256 credentials for the DTLS benchmarks: a root CA, a server certificate for
/// 127.0.0.1 (serverAuth) and a client certificate (clientAuth), all made with CertificateRequest.
/// </summary>
internal sealed class DtlsTestCredentials : IDisposable
{
    public static readonly byte[] PskIdentity = "bench-device"u8.ToArray();
    public static readonly byte[] PskKey = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();

    private DtlsTestCredentials(X509Certificate2 root)
    {
        Root = root;
        Server = Issue(root, "CN=bench-server", serverAuth: true);
        Client = Issue(root, "CN=bench-client", serverAuth: false);
    }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    public static DtlsTestCredentials Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new X509Request("CN=bench-root", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return new DtlsTestCredentials(root);
    }

    /// <summary>Loads a root (with key) written by <see cref="ExportRoot"/> and issues fresh leaves from it.</summary>
    public static DtlsTestCredentials Load(string pfxPath) =>
        new(X509CertificateLoader.LoadPkcs12FromFile(pfxPath, "bench", X509KeyStorageFlags.Exportable));

    public void ExportRoot(string pfxPath) => File.WriteAllBytes(pfxPath, Root.Export(X509ContentType.Pfx, "bench"));

    private static X509Certificate2 Issue(X509Certificate2 issuer, string subject, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new X509Request(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using X509Certificate2 issued = request.Create(issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Server options: certificate and PSK, retransmission from 1 s (loopback loses nothing in practice).</summary>
    public DtlsServerOptions ServerOptions()
    {
        var options = new DtlsServerOptions
        {
            Certificate = Server,
            PskKeyLookup = (identity, _) => ValueTask.FromResult(identity.Span.SequenceEqual(PskIdentity) ? (byte[]?)PskKey : null),
            MaxConnections = 100_000,
        };
        options.ClientCertificateTrustAnchors.Add(Root);
        return options;
    }

    /// <summary>Client options for one of the handshake kinds.</summary>
    public DtlsClientOptions ClientOptions(HandshakeKind kind)
    {
        var options = new DtlsClientOptions();
        switch (kind)
        {
            case HandshakeKind.Psk:
                options.CipherSuites = [CipherSuite.TLS_PSK_WITH_AES_128_CCM_8];
                options.PskIdentity = PskIdentity;
                options.PskKey = PskKey;
                break;
            case HandshakeKind.EcdheMutual:
                options.CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8];
                options.ServerCertificateTrustAnchors.Add(Root);
                options.ClientCertificate = Client;
                break;
            default:
                options.CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8];
                options.ServerCertificateTrustAnchors.Add(Root);
                break;
        }

        return options;
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
        Root.Dispose();
    }
}

/// <summary>Which full handshake a client performs.</summary>
public enum HandshakeKind
{
    /// <summary>ECDHE_ECDSA, server certificate validated by the client, anonymous client (empty Certificate).</summary>
    Ecdhe,

    /// <summary>ECDHE_ECDSA with a client certificate and CertificateVerify (validated by the server).</summary>
    EcdheMutual,

    /// <summary>TLS_PSK_WITH_AES_128_CCM_8 without identity hint.</summary>
    Psk,
}
