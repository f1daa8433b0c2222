using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Pkix.Tests;

/// <summary>Paths to the given trust anchors only, with the untrusted certificates as helpers, time and EKU as configured.</summary>
public sealed class CertificateChainBuilderTests
{
    private static readonly DateTimeOffset s_now = DateTimeOffset.UtcNow;

    [Fact]
    public void A_path_goes_leaf_first_to_the_given_anchor_through_untrusted_intermediates()
    {
        using ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 root = Ca("CN=root", rootKey, null, null);
        X509Certificate2 intermediate = Ca("CN=intermediate", intermediateKey, root, rootKey);
        X509Certificate2 leaf = Leaf("CN=leaf", intermediate, intermediateKey, s_now.AddDays(-1), s_now.AddDays(1), "1.3.6.1.5.5.7.3.2");

        var builder = new CertificateChainBuilder([root]);
        Assert.True(builder.TryBuild(leaf, [intermediate], s_now, out IReadOnlyList<X509Certificate2>? path));
        Assert.Equal(new[] { leaf.Thumbprint, intermediate.Thumbprint, root.Thumbprint }, path.Select(c => c.Thumbprint));

        // Without the intermediate, or to another anchor, there is no path.
        Assert.False(builder.TryBuild(leaf, [], s_now));
        using ECDsa otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.False(new CertificateChainBuilder([Ca("CN=root", otherKey, null, null)]).TryBuild(leaf, [intermediate], s_now));

        // The EKU is checked when one is asked for.
        Assert.True(new CertificateChainBuilder([root]) { ApplicationPolicy = "1.3.6.1.5.5.7.3.2" }.TryBuild(leaf, [intermediate], s_now));
        Assert.False(new CertificateChainBuilder([root]) { ApplicationPolicy = "1.3.6.1.5.5.7.3.1" }.TryBuild(leaf, [intermediate], s_now));
    }

    [Fact]
    public void Time_validity_counts_at_the_time_given_unless_ignored()
    {
        using ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        X509Certificate2 root = Ca("CN=root", rootKey, null, null);
        X509Certificate2 expired = Leaf("CN=expired", root, rootKey, s_now.AddDays(-10), s_now.AddDays(-5), null);

        var builder = new CertificateChainBuilder([root]);
        Assert.False(builder.TryBuild(expired, [], s_now));
        Assert.True(builder.TryBuild(expired, [], s_now.AddDays(-7)));
        Assert.True(new CertificateChainBuilder([root]) { IgnoreTimeValidity = true }.TryBuild(expired, [], s_now));

        using X509Chain chain = new CertificateChainBuilder([root]) { DisableCertificateDownloads = true }.CreateChain([], s_now);
        Assert.Equal(X509ChainTrustMode.CustomRootTrust, chain.ChainPolicy.TrustMode);
        Assert.Equal(X509RevocationMode.NoCheck, chain.ChainPolicy.RevocationMode);
        Assert.True(chain.ChainPolicy.DisableCertificateDownloads);
        Assert.False(chain.Build(expired));
        Assert.Contains(chain.ChainStatus, s => s.Status == X509ChainStatusFlags.NotTimeValid);
    }

    private static X509Certificate2 Ca(string name, ECDsa key, X509Certificate2? issuer, ECDsa? issuerKey)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        if (issuer is null)
        {
            return request.CreateSelfSigned(s_now.AddDays(-30), s_now.AddDays(30));
        }

        using X509Certificate2 signer = X509CertificateLoader.LoadCertificate(issuer.RawData).CopyWithPrivateKey(issuerKey!);
        return request.Create(signer, s_now.AddDays(-30), s_now.AddDays(30), RandomNumberGenerator.GetBytes(8));
    }

    private static X509Certificate2 Leaf(string name, X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset notBefore, DateTimeOffset notAfter, string? eku)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        if (eku is not null)
        {
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(eku)], false));
        }

        using X509Certificate2 signer = X509CertificateLoader.LoadCertificate(issuer.RawData).CopyWithPrivateKey(issuerKey);
        return request.Create(signer, notBefore, notAfter, RandomNumberGenerator.GetBytes(8));
    }
}
