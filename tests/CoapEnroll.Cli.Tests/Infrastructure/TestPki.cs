using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Cli.Tests.Infrastructure;

/// <summary>
/// A throw-away PKI in a temporary directory: a self-signed ECDSA P-256 root and leaf certificates under it,
/// written as PEM files (certificate; PKCS#8 key) that libcoap, OpenSSL and the CLI all read.
/// </summary>
public sealed class TestPki : IDisposable
{
    private readonly ECDsa _caKey;
    private readonly X509Certificate2 _ca;

    public TestPki(string name = "CoapEnroll Test CA")
    {
        Directory = Path.Combine(Path.GetTempPath(), "coapenroll-tests", "pki-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        _ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(2));
        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, _ca.ExportCertificatePem() + "\n");
    }

    public string Directory { get; }

    /// <summary>The root certificate (PEM): the trust anchor for everything issued here.</summary>
    public string CaFile { get; }

    /// <summary>
    /// Issues a leaf for <paramref name="commonName"/> with SANs <paramref name="dnsNames"/> (default localhost) and 127.0.0.1 and both serverAuth and
    /// clientAuth, and writes NAME.pem and NAME.key; returns their paths.
    /// </summary>
    public (string CertificateFile, string KeyFile) Issue(string fileName, string commonName, string[]? dnsNames = null, bool loopbackAddress = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (string dnsName in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(dnsName);
        }

        if (loopbackAddress)
        {
            san.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var now = DateTimeOffset.UtcNow;
        using X509Certificate2 leaf = request.Create(_ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));
        string certificateFile = Path.Combine(Directory, fileName + ".pem");
        string keyFile = Path.Combine(Directory, fileName + ".key");
        File.WriteAllText(certificateFile, leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certificateFile, keyFile);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
