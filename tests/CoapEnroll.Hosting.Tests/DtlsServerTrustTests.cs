using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Dtls;

namespace CoapEnroll.Hosting.Tests;

/// <summary>What the coaps:// listener presents and which client certificates its handshake trusts, decided in one place.</summary>
public sealed class DtlsServerTrustTests
{
    [Fact]
    public async Task The_listener_presents_the_server_credential_and_trusts_the_enrollment_trust_anchors()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        DtlsServerOptions options = DtlsServerTrust.CreateServerOptions(ca.ServerCredential, ca.Hierarchy);

        Assert.Same(ca.ServerCredential.Certificate, options.Certificate);
        // After the leaf: the issuing CA, never the root the client holds.
        Assert.Equal([ca.Hierarchy.IssuingCa.Thumbprint], options.CertificateChain.Select(c => c.Thumbprint));

        // Devices of this CA and of the trusted manufacturers; devices send only their leaf, so the issuing CA helps build the path.
        Assert.Equal([ca.Hierarchy.TrustAnchor.Thumbprint, ca.Hierarchy.TrustedManufacturerCas[0].Thumbprint],
            options.ClientCertificateTrustAnchors.Select(c => c.Thumbprint));
        X509Certificate2 helper = Assert.Single(options.ClientCertificateIntermediates);
        Assert.Equal(ca.Hierarchy.IssuingCa.Thumbprint, helper.Thumbprint);
        Assert.False(helper.HasPrivateKey);

        // A client certificate is optional, and an untrusted one is admitted unauthenticated so that EST can say why it refuses.
        Assert.False(options.RequireClientCertificate);
        Assert.True(options.AllowUnvalidatedClientCertificates);
    }

    [Fact]
    public async Task The_operator_can_reject_untrusted_client_certificates_and_add_trust_anchors()
    {
        await using TestCa ca = await TestCa.CreateAsync();
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 extra = new CertificateRequest("CN=Extra Device CA", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        DtlsServerOptions options = DtlsServerTrust.CreateServerOptions(ca.ServerCredential, ca.Hierarchy, admitUntrustedClientCertificates: false, [extra]);

        Assert.False(options.AllowUnvalidatedClientCertificates);
        Assert.Equal([ca.Hierarchy.TrustAnchor.Thumbprint, ca.Hierarchy.TrustedManufacturerCas[0].Thumbprint, extra.Thumbprint],
            options.ClientCertificateTrustAnchors.Select(c => c.Thumbprint));
    }
}
