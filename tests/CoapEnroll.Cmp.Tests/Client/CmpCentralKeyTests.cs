using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Pkix;

namespace CoapEnroll.Cmp.Tests.Client;

/// <summary>
/// The client's checks of a centrally generated key (RFC 9483 §4.1.6): the key package's signer must chain to the trust anchors
/// and be a CA or carry id-kp-cmKGA (RFC 9810 §4.5); another certificate under the same anchors does not speak for a key.
/// </summary>
public sealed class CmpCentralKeyTests : IDisposable
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("central-key-secret");
    private readonly ECDsa _rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _root;

    public CmpCentralKeyTests()
    {
        var request = new CertificateRequest("CN=Test Root", _rootKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        _root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    public void Dispose()
    {
        _root.Dispose();
        _rootKey.Dispose();
    }

    [Fact]
    public void KeySignedByAnAuthorizedGenerator_Opens()
    {
        using X509Certificate2 kga = Issue("CN=Key Generator", PkixOids.CmpKeyGenerationAuthority);
        using AsymmetricAlgorithm key = CmpCentralKey.Open(Deliver(kga, out byte[] expected), Options());
        Assert.Equal(expected, Assert.IsAssignableFrom<ECDsa>(key).ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void KeySignedByTheCa_Opens()
    {
        using AsymmetricAlgorithm key = CmpCentralKey.Open(Deliver(_root, out byte[] expected), Options());
        Assert.Equal(expected, Assert.IsAssignableFrom<ECDsa>(key).ExportSubjectPublicKeyInfo());
    }

    [Fact]
    public void KeySignedByAnotherCertificateUnderTheSameAnchor_IsRefused()
    {
        // serverAuth only: the certificate chains, but nothing makes it a key generation authority.
        using X509Certificate2 other = Issue("CN=Some Server", "1.3.6.1.5.5.7.3.1");
        CmpException ex = Assert.Throws<CmpException>(() => CmpCentralKey.Open(Deliver(other, out _), Options()));
        Assert.Contains("neither a CA nor authorized as a key generation authority", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KeySignedByAGeneratorUnderAnotherAnchor_IsRefused()
    {
        using var otherRootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 otherRoot = new CertificateRequest("CN=Test Root", otherRootKey, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using X509Certificate2 kga = Issue("CN=Key Generator", PkixOids.CmpKeyGenerationAuthority);
        CmpClientOptions options = new() { SharedSecret = Secret };
        options.TrustAnchors.Add(otherRoot);
        CmpException ex = Assert.Throws<CmpException>(() => CmpCentralKey.Open(Deliver(kga, out _), options));
        Assert.Contains("does not chain to the trust anchors", ex.Message, StringComparison.Ordinal);
    }

    private CmpClientOptions Options()
    {
        var options = new CmpClientOptions { SharedSecret = Secret };
        options.TrustAnchors.Add(_root);
        return options;
    }

    // The EncryptedKey the server sends to a MAC-authenticated requester, with a fresh P-256 key signed by signer.
    private byte[] Deliver(X509Certificate2 signer, out byte[] publicKey)
    {
        using var generated = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        publicKey = generated.ExportSubjectPublicKeyInfo();
        return CmpKeyDelivery.ForSecret(generated.ExportPkcs8PrivateKey(), Secret, signer, []);
    }

    private X509Certificate2 Issue(string subject, string extendedKeyUsage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedKeyUsage)], critical: false));
        using X509Certificate2 issued = request.Create(_root, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(10), [1, 2, 3, 4]);
        return issued.CopyWithPrivateKey(key);
    }
}
