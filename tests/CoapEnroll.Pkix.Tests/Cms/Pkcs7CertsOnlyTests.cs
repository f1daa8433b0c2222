using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>The certs-only SignedData codec (RFC 5272 §4.1).</summary>
public sealed class Pkcs7CertsOnlyTests
{
    [Fact]
    public async Task Certs_only_round_trips_and_openssl_reads_it()
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 a = new CertificateRequest("CN=a", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        X509Certificate2 b = new CertificateRequest("CN=b", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(1));
        byte[] der = Pkcs7CertsOnly.Encode([a, b]);
        Assert.Equal(new[] { a.Thumbprint, b.Thumbprint }.Order(), Pkcs7CertsOnly.Decode(der).Select(c => c.Thumbprint).Order());

        string dir = Directory.CreateTempSubdirectory("coapenroll-est-codec-").FullName;
        try
        {
            await File.WriteAllBytesAsync(Path.Combine(dir, "c.p7"), der);
            string printed = await OpenSsl.RunAsync(dir, "pkcs7", "-inform", "DER", "-in", "c.p7", "-print_certs");
            Assert.Contains("subject=CN = a", printed);
            Assert.Contains("subject=CN = b", printed);
        }
        finally
        {
            Directory.Delete(dir, true);
        }

        Assert.Throws<CryptographicException>(() => Pkcs7CertsOnly.Decode([.. der, 0]));
    }
}
