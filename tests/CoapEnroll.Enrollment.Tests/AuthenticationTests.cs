using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>Who may ask at all (RFC 9148 §3, RFC 7030 §3.3.2): EnrollmentService.AuthenticateAsync, one test per rule.</summary>
public sealed class AuthenticationTests
{
    [Fact]
    public async Task A_peer_without_a_secure_channel_is_not_authenticated()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.Anonymous("test"), CancellationToken.None);
        Assert.Null(result.Requester);
        Assert.Equal(AuthenticationFailure.NoSecureChannel, result.Failure);
        Assert.Equal("anonymous", result.Name);
    }

    [Fact]
    public async Task A_psk_session_without_a_certificate_is_not_authenticated()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        AuthenticationResult result = await f.Service.AuthenticateAsync(
            PeerIdentity.SecureChannel("test", [], "device-7"u8.ToArray(), ChannelBinding.TlsUnique("DTLS", EnrollmentFixture.TlsUnique)), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.NoCertificate, result.Failure);
        Assert.Equal("PSK identity device-7", result.Name);
    }

    [Fact]
    public async Task A_psk_identity_is_named_with_what_cannot_be_printed_escaped()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        byte[] identity = [.. "dev"u8, 0x00, (byte)'\\', 0x0A, 0xC3, 0xA9, .. @"\x41"u8];
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SecureChannel("test", [], identity, null), CancellationToken.None);
        Assert.Equal(@"PSK identity dev\x00\\\x0A\xC3\xA9\\x41", result.Name);

        AuthenticationResult tooLong = await f.Service.AuthenticateAsync(PeerIdentity.SecureChannel("test", [], new byte[1000], null), CancellationToken.None);
        Assert.Equal("PSK identity " + string.Concat(Enumerable.Repeat(@"\x00", PrintableText.DefaultMaxLength)) + "...", tooLong.Name);
    }

    [Fact]
    public async Task A_secure_channel_with_neither_certificate_nor_psk_is_anonymous()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        AuthenticationResult result = await f.Service.AuthenticateAsync(PeerIdentity.SecureChannel("test", [], null, null), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.NoCertificate, result.Failure);
        Assert.Equal("anonymous", result.Name);
    }

    [Fact]
    public async Task A_self_signed_certificate_is_untrusted()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 self = new CertificateRequest("CN=demo-device-1", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(self), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.UntrustedCertificate, result.Failure);
        Assert.Equal("the client certificate does not chain to this CA or a trusted manufacturer CA", result.Detail);
        Assert.Empty(await f.RejectedAsync()); // never stored: anyone can present a self-signed certificate
    }

    [Fact]
    public async Task A_manufacturer_certificate_authenticates_as_manufacturer()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        Assert.Equal(RequesterTrust.Manufacturer, requester.Trust);
        Assert.StartsWith(device.Subject + " sha256:", requester.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_manufacturer_certificate_is_refused_unless_configured()
    {
        DateTimeOffset later = DateTimeOffset.UtcNow.AddDays(3);
        await using EnrollmentFixture now = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 device = ShortLivedManufacturerCertificate(now);
        Assert.Equal(RequesterTrust.Manufacturer, (await now.AuthenticateAsync(device)).Trust);

        var strict = new EnrollmentService(now.Authority, now.Hierarchy, new EnrollmentOptions(), null, new FixedTimeProvider(later));
        Assert.Equal(AuthenticationFailure.UntrustedCertificate, (await strict.AuthenticateAsync(EnrollmentFixture.Peer(device), CancellationToken.None)).Failure);

        var lenient = new EnrollmentService(now.Authority, now.Hierarchy, new EnrollmentOptions { AcceptExpiredManufacturerCertificates = true }, null, new FixedTimeProvider(later));
        Assert.Equal(RequesterTrust.Manufacturer, (await lenient.AuthenticateAsync(EnrollmentFixture.Peer(device), CancellationToken.None)).Requester?.Trust);
    }

    // A device certificate of the demo manufacturer CA valid for one day.
    private static X509Certificate2 ShortLivedManufacturerCertificate(EnrollmentFixture f)
    {
        using X509Certificate2 manufacturer = X509Certificate2.CreateFromPemFile(f.Hierarchy.Layout.ManufacturerCaCertificate, f.Hierarchy.Layout.ManufacturerCaKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=short-lived", key, HashAlgorithmName.SHA256);
        DateTimeOffset notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        DateTimeOffset notAfter = new[] { DateTimeOffset.UtcNow.AddDays(1), new DateTimeOffset(manufacturer.NotAfter.ToUniversalTime()) }.Min();
        return request.Create(manufacturer, notBefore, notAfter, [9, 8, 7, 6, 5, 4, 3, 2]);
    }

    [Fact]
    public async Task An_active_certificate_of_this_CA_authenticates_as_this_CA()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await IssueFromDeviceAsync(f);
        Assert.Equal(RequesterTrust.ThisCa, (await f.AuthenticateAsync(issued)).Trust);
    }

    [Theory]
    [InlineData(CertificateStatus.Revoked)]
    [InlineData(CertificateStatus.Superseded)]
    public async Task A_certificate_of_this_CA_that_is_no_longer_active_is_refused(CertificateStatus status)
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await IssueFromDeviceAsync(f);
        Assert.True(await f.Store.SetCertificateStatusAsync(issued.SerialNumber, status,
            new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "status", Details = status.ToString() }, CancellationToken.None));
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(issued), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
        Assert.Equal("the client certificate is not an active certificate of this CA (revoked or superseded)", result.Detail);
    }

    [Fact]
    public async Task A_certificate_signed_by_this_CA_but_unknown_to_the_store_is_refused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged", key, HashAlgorithmName.SHA256);
        using X509Certificate2 notStored = request.Create(f.Hierarchy.IssuingCa, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3, 4, 5, 6, 7, 8]);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, (await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(notStored), CancellationToken.None)).Failure);
    }

    internal static async Task<X509Certificate2> IssueFromDeviceAsync(EnrollmentFixture f, string subject = "CN=demo-device-1", params string[] dnsNames)
    {
        using X509Certificate2 device = f.DeviceCertificate();
        Requester requester = await f.AuthenticateAsync(device);
        using EnrollmentOutcome outcome = await f.Service.EnrollAsync(EnrollmentFixture.Request(requester, EnrollmentFixture.Csr(subject, dnsNames: dnsNames)), CancellationToken.None);
        Assert.Equal(EnrollmentStatus.Issued, outcome.Status);
        return outcome.Certificate!;
    }
}
