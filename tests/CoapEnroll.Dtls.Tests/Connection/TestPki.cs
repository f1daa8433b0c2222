using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// A throwaway PKI made with CertificateRequest: ECDSA P-256 root CA → server certificate (SAN localhost,
/// 127.0.0.1, ::1; serverAuth) and client certificate (clientAuth), an intermediate CA under the root with a
/// client and a server certificate of its own, plus an unrelated "rogue" root and a client certificate it
/// signed. PEM files go to a temp directory for openssl / gnutls.
/// </summary>
public sealed class TestPki : IDisposable
{
    private static readonly Lazy<TestPki> s_shared = new(() => new TestPki());

    public TestPki()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("dtls-pki").FullName;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        (Root, _) = CreateRoot("CN=CoapEnroll Test Root", now);
        (RogueRoot, _) = CreateRoot("CN=Rogue Root", now);
        Server = Issue(Root, "CN=localhost", now, serverAuth: true, san: true);
        Client = Issue(Root, "CN=device-1", now, serverAuth: false, san: false);
        RogueClient = Issue(RogueRoot, "CN=rogue-device", now, serverAuth: false, san: false);
        Intermediate = IssueCa(Root, "CN=CoapEnroll Test Intermediate", now);
        IntermediateClient = Issue(Intermediate, "CN=device-2", now, serverAuth: false, san: false);
        IntermediateServer = Issue(Intermediate, "CN=localhost", now, serverAuth: true, san: true);
        CaPem = Write("ca.pem", Root.ExportCertificatePem());
        ServerCertPem = Write("server.pem", Server.ExportCertificatePem());
        ServerKeyPem = Write("server.key", Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        ClientCertPem = Write("client.pem", Client.ExportCertificatePem());
        ClientKeyPem = Write("client.key", Client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    public static TestPki Shared => s_shared.Value;

    public string Directory { get; }

    public X509Certificate2 Root { get; }

    public X509Certificate2 RogueRoot { get; }

    public X509Certificate2 Server { get; }

    public X509Certificate2 Client { get; }

    public X509Certificate2 RogueClient { get; }

    /// <summary>A CA certificate signed by <see cref="Root"/>, with its private key.</summary>
    public X509Certificate2 Intermediate { get; }

    /// <summary>A clientAuth certificate issued by <see cref="Intermediate"/>.</summary>
    public X509Certificate2 IntermediateClient { get; }

    /// <summary>A serverAuth certificate (SAN localhost) issued by <see cref="Intermediate"/>.</summary>
    public X509Certificate2 IntermediateServer { get; }

    public string CaPem { get; }

    public string ServerCertPem { get; }

    public string ServerKeyPem { get; }

    public string ClientCertPem { get; }

    public string ClientKeyPem { get; }

    private string Write(string name, string content)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static (X509Certificate2, ECDsa) CreateRoot(string subject, DateTimeOffset now)
    {
        ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return (request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30)), key);
    }

    private static X509Certificate2 IssueCa(X509Certificate2 issuer, string subject, DateTimeOffset now)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using X509Certificate2 issued = request.Create(issuer, now.AddHours(-1), now.AddDays(20), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 Issue(X509Certificate2 issuer, string subject, DateTimeOffset now, bool serverAuth, bool san)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        if (san)
        {
            var builder = new SubjectAlternativeNameBuilder();
            builder.AddDnsName("localhost");
            builder.AddIpAddress(IPAddress.Loopback);
            builder.AddIpAddress(IPAddress.IPv6Loopback);
            request.CertificateExtensions.Add(builder.Build());
        }

        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using X509Certificate2 issued = request.Create(issuer, now.AddHours(-1), now.AddDays(10), serial);
        return issued.CopyWithPrivateKey(key);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
