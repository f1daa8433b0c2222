using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// A client certificate that chains to a trusted manufacturer CA or to this CA identifies a device only when it is an end-entity
/// certificate fit for client authentication (RFC 5280 §4.2.1.3, §4.2.1.9, §4.2.1.12): refused otherwise, with the reason,
/// before anything is stored.
/// </summary>
public sealed class DeviceIdentityTests
{
    private const string ClientAuth = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string AnyExtendedKeyUsage = "2.5.29.37.0";

    public static TheoryData<string, X509Extension[], string> Refused => new()
    {
        { "CA:TRUE", [new X509BasicConstraintsExtension(true, false, 0, true)], "the client certificate is a CA certificate (basicConstraints cA TRUE)" },
        { "CA:TRUE non-critical, with digitalSignature and clientAuth", [new X509BasicConstraintsExtension(true, true, 0, false),
            new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true), Eku(ClientAuth)], "is a CA certificate" },
        { "keyUsage keyEncipherment only", [new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment, true)], "lacks digitalSignature" },
        { "keyUsage keyAgreement only", [new X509KeyUsageExtension(X509KeyUsageFlags.KeyAgreement, true)], "lacks digitalSignature" },
        { "extendedKeyUsage serverAuth only", [Eku(ServerAuth)], "has neither clientAuth nor anyExtendedKeyUsage" },
        { "extendedKeyUsage codeSigning and serverAuth", [Eku("1.3.6.1.5.5.7.3.3", ServerAuth)], "has neither clientAuth nor anyExtendedKeyUsage" },
    };

    public static TheoryData<string, X509Extension[]> Accepted => new()
    {
        { "no extensions", [] },
        { "CA:FALSE, digitalSignature, clientAuth", [new X509BasicConstraintsExtension(false, false, 0, true), new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true), Eku(ClientAuth)] },
        { "digitalSignature with keyEncipherment, clientAuth with serverAuth", [new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true), Eku(ServerAuth, ClientAuth)] },
        { "anyExtendedKeyUsage", [Eku(AnyExtendedKeyUsage)] },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_manufacturer_certificate_that_is_no_device_identity_is_refused(string what, X509Extension[] extensions, string detail)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 certificate = ManufacturerCertificate(f, extensions);

        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(certificate), CancellationToken.None);

        Assert.True(result.Requester is null, what);
        Assert.Equal(AuthenticationFailure.UnsuitableCertificate, result.Failure);
        Assert.Contains(detail, result.Detail, StringComparison.Ordinal);
        Assert.Contains("CN=device-under-test", result.Name, StringComparison.Ordinal);
        Assert.Empty(await f.Store.ListRequestsAsync(null, 10, CancellationToken.None));
    }

    [Theory]
    [MemberData(nameof(Accepted))]
    public async Task A_manufacturer_end_entity_certificate_for_client_authentication_is_accepted(string what, X509Extension[] extensions)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 certificate = ManufacturerCertificate(f, extensions);
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(certificate), CancellationToken.None);
        Assert.True(result.Requester?.Trust == RequesterTrust.Manufacturer, $"{what}: {result.Failure} {result.Detail}");
    }

    [Fact]
    public async Task A_certificate_of_this_CA_without_digitalSignature_is_refused()
    {
        // A profile may issue key agreement certificates (the recipients of encrypted server-generated keys); such a certificate
        // cannot authenticate a (D)TLS client, so it does not identify a device either.
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(configureCa: o => o.Profiles = new()
        {
            ["default"] = new CertificateProfileOptions(),
            ["kex"] = new CertificateProfileOptions { KeyUsage = ["KeyAgreement"] },
        });
        using X509Certificate2 device = f.DeviceCertificate();
        EnrollmentRequest request = EnrollmentFixture.Request(await f.AuthenticateAsync(device), EnrollmentFixture.Csr("CN=demo-device-1"));
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(new EnrollmentRequest
        {
            Requester = request.Requester,
            Operation = request.Operation,
            OperationName = request.OperationName,
            Request = request.Request,
            ProfileName = "kex",
        }, CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);

        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(outcome.Certificate!), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.UnsuitableCertificate, result.Failure);
        Assert.Contains("lacks digitalSignature", result.Detail, StringComparison.Ordinal);

        // The default profile's certificates (digitalSignature, clientAuth) do authenticate.
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Assert.Equal(RequesterTrust.ThisCa, (await f.AuthenticateAsync(issued)).Trust);
    }

    [Fact]
    public void Extensions_that_cannot_be_decoded_or_appear_twice_are_reasons_too()
    {
        // The chain builder already refuses such certificates; the check does not depend on it.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var undecodable = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        undecodable.CertificateExtensions.Add(new X509Extension("2.5.29.15", [0x04, 0x01, 0x00], true));
        using X509Certificate2 badKeyUsage = Unsigned(undecodable, key);
        Assert.Equal("the client certificate's extension 2.5.29.15 cannot be decoded", EnrollmentTrustPolicy.CheckDeviceIdentity(badKeyUsage));

        // The platform will not write an extension twice: write 2.5.29.99 and rename it to 2.5.29.37 (extendedKeyUsage) in the DER.
        // The signature no longer holds, which this check does not look at.
        var twice = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256);
        twice.CertificateExtensions.Add(Eku(ClientAuth));
        twice.CertificateExtensions.Add(new X509Extension("2.5.29.99", Eku(ServerAuth).RawData, false));
        using X509Certificate2 written = Unsigned(twice, key);
        byte[] der = written.RawData;
        int at = der.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x06, 0x03, 0x55, 0x1D, 0x63]);
        Assert.True(at > 0);
        der[at + 4] = 0x25;
        using X509Certificate2 twoEkus = X509CertificateLoader.LoadCertificate(der);
        Assert.Equal("the client certificate carries extension 2.5.29.37 more than once (RFC 5280 section 4.2)", EnrollmentTrustPolicy.CheckDeviceIdentity(twoEkus));

        using X509Certificate2 plain = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Null(EnrollmentTrustPolicy.CheckDeviceIdentity(plain));
    }

    [Fact]
    public async Task An_untrusted_CA_certificate_is_refused_as_untrusted_not_as_unsuitable()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=self", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using X509Certificate2 self = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Equal(AuthenticationFailure.UntrustedCertificate, (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(self), CancellationToken.None)).Failure);
    }

    // Self-issued without attaching the private key (attaching it would decode the key usage first).
    private static X509Certificate2 Unsigned(CertificateRequest request, ECDsa key) =>
        request.Create(request.SubjectName, X509SignatureGenerator.CreateForECDsa(key), DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);

    private static X509EnhancedKeyUsageExtension Eku(params string[] oids)
    {
        var collection = new OidCollection();
        foreach (string oid in oids)
        {
            collection.Add(new Oid(oid));
        }

        return new X509EnhancedKeyUsageExtension(collection, critical: false);
    }

    // A device certificate from the demo manufacturer CA with exactly these extensions.
    private static X509Certificate2 ManufacturerCertificate(EnrollmentFixture f, X509Extension[] extensions)
    {
        using X509Certificate2 manufacturer = X509Certificate2.CreateFromPemFile(f.Hierarchy.Layout.ManufacturerCaCertificate, f.Hierarchy.Layout.ManufacturerCaKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=device-under-test", key, HashAlgorithmName.SHA256);
        foreach (X509Extension extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        return request.Create(manufacturer, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));
    }
}
