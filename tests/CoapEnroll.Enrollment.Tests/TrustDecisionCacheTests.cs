using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Enrollment.Tests;

/// <summary>
/// <see cref="EnrollmentTrustPolicy.Evaluate"/> reuses what a chain was found to chain to for the exact same certificates, and
/// only while the path it built is time-valid and for <see cref="TrustDecisionCache.EntryLifetime"/> at most; a refusal is never
/// reused, and whether a certificate of this CA is still active is asked of the store every time.
/// </summary>
public sealed class TrustDecisionCacheTests
{
    [Fact]
    public async Task The_same_certificates_are_judged_once_and_the_decision_is_reused()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using X509Certificate2 device = f.DeviceCertificate();
        DateTimeOffset now = DateTimeOffset.UtcNow;

        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], now));
        Assert.Equal(0, policy.Decisions.Hits);
        // Another object with the same bytes, as a new session presents it.
        using X509Certificate2 again = X509CertificateLoader.LoadCertificate(device.RawData);
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([again], now.AddMinutes(1)));
        Assert.Equal(1, policy.Decisions.Hits);

        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f); // authenticates the device: a hit
        long hits = policy.Decisions.Hits;
        Assert.Equal(RequesterTrust.ThisCa, policy.Evaluate([issued], now));
        Assert.Equal(hits, policy.Decisions.Hits);
        Assert.Equal(RequesterTrust.ThisCa, policy.Evaluate([issued], now));
        Assert.Equal(hits + 1, policy.Decisions.Hits);
        Assert.Equal(2, policy.Decisions.Count);
    }

    [Fact]
    public async Task Other_bytes_are_judged_on_their_own()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using X509Certificate2 device = f.DeviceCertificate();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], now));

        // Same subject, same key, self-signed: refused, not taken for the cached certificate.
        using ECDsa key = device.GetECDsaPrivateKey()!;
        var request = new CertificateRequest(device.SubjectName, key, HashAlgorithmName.SHA256);
        using X509Certificate2 impostor = request.CreateSelfSigned(device.NotBefore, device.NotAfter);
        Assert.Null(policy.Evaluate([impostor], now));
        Assert.Null(policy.Evaluate([impostor], now));

        // The cached leaf followed by another certificate is another key: judged again (and the extra certificate changes nothing).
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device, impostor], now));
        Assert.Equal(0, policy.Decisions.Hits);
        Assert.Equal(2, policy.Decisions.Count);
    }

    [Fact]
    public async Task A_refusal_is_never_kept()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 self = new CertificateRequest("CN=self", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Assert.Null(policy.Evaluate([self], DateTimeOffset.UtcNow));
        Assert.Null(policy.Evaluate([self], DateTimeOffset.UtcNow));
        Assert.Equal(0, policy.Decisions.Count);
    }

    [Fact]
    public async Task A_cached_certificate_is_refused_once_it_expired_or_before_it_is_valid()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using X509Certificate2 device = f.ManufacturerDevice("CN=short-lived");
        DateTimeOffset notBefore = new(device.NotBefore.ToUniversalTime(), TimeSpan.Zero);
        DateTimeOffset notAfter = new(device.NotAfter.ToUniversalTime(), TimeSpan.Zero);

        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], notAfter.AddMinutes(-2)));
        Assert.Null(policy.Evaluate([device], notAfter.AddSeconds(1)));
        Assert.Null(policy.Evaluate([device], notBefore.AddSeconds(-1)));
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], notAfter.AddMinutes(-1)));
        Assert.Equal(1, policy.Decisions.Hits);
    }

    [Fact]
    public async Task A_decision_is_made_again_after_the_entry_lifetime()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using X509Certificate2 device = f.DeviceCertificate();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], now));
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], now + TrustDecisionCache.EntryLifetime));
        Assert.Equal(1, policy.Decisions.Hits);

        // Past the lifetime, and before the time it was made (a clock set back): judged again, and the fresh decision is kept.
        DateTimeOffset later = now + TrustDecisionCache.EntryLifetime + TimeSpan.FromSeconds(1);
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], later));
        Assert.Equal(1, policy.Decisions.Hits);
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], later.AddSeconds(-2)));
        Assert.Equal(1, policy.Decisions.Hits);
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], later.AddSeconds(-2)));
        Assert.Equal(2, policy.Decisions.Hits);
        Assert.Equal(1, policy.Decisions.Count);
    }

    [Fact]
    public async Task An_expired_manufacturer_certificate_accepted_by_configuration_is_judged_every_time()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync(o => o.AcceptExpiredManufacturerCertificates = true);
        EnrollmentTrustPolicy policy = f.Service.TrustPolicy;
        using X509Certificate2 device = f.ManufacturerDevice("CN=old-device");
        DateTimeOffset expired = new DateTimeOffset(device.NotAfter.ToUniversalTime(), TimeSpan.Zero).AddDays(1);
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], expired));
        Assert.Equal(RequesterTrust.Manufacturer, policy.Evaluate([device], expired));
        Assert.Equal(0, policy.Decisions.Count);
    }

    [Fact]
    public async Task The_store_still_decides_whether_a_cached_certificate_of_this_CA_is_active()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 issued = await AuthenticationTests.IssueFromDeviceAsync(f);
        Assert.Equal(RequesterTrust.ThisCa, (await f.AuthenticateAsync(issued)).Trust);
        Assert.True(await f.Store.SetCertificateStatusAsync(issued.SerialNumber, CertificateStatus.Revoked,
            new AuditEntry { Timestamp = DateTimeOffset.UtcNow, Actor = "test", Action = "status", Details = "revoked" }, CancellationToken.None));

        long hits = f.Service.TrustPolicy.Decisions.Hits;
        AuthenticationResult result = await f.Service.AuthenticateAsync(EnrollmentFixture.Peer(issued), CancellationToken.None);
        Assert.Equal(AuthenticationFailure.InactiveCertificateOfThisCa, result.Failure);
        Assert.Equal(hits + 1, f.Service.TrustPolicy.Decisions.Hits);
    }

    [Fact]
    public async Task The_cache_holds_at_most_its_capacity()
    {
        await using EnrollmentFixture f = await EnrollmentFixture.CreateAsync();
        using X509Certificate2 manufacturer = X509Certificate2.CreateFromPemFile(f.Hierarchy.Layout.ManufacturerCaCertificate, f.Hierarchy.Layout.ManufacturerCaKey);
        using ECDsa manufacturerKey = manufacturer.GetECDsaPrivateKey()!;
        X509SignatureGenerator generator = X509SignatureGenerator.CreateForECDsa(manufacturerKey);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var cache = new TrustDecisionCache();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var first = new List<X509Certificate2>();
        for (int i = 0; i <= TrustDecisionCache.Capacity; i++)
        {
            var request = new CertificateRequest($"CN=device-{i}", key, HashAlgorithmName.SHA256);
            X509Certificate2 device = request.Create(manufacturer.SubjectName, generator, now.AddMinutes(-1), now.AddDays(1), [0x01, (byte)(i >> 8), (byte)i]);
            cache.Add([device], RequesterTrust.Manufacturer, now.AddMinutes(-1), now.AddDays(1), now);
            if (i < 2)
            {
                first.Add(device);
            }
            else
            {
                device.Dispose();
            }
        }

        Assert.Equal(TrustDecisionCache.Capacity, cache.Count);
        Assert.False(cache.TryGet([first[0]], now, out _)); // the oldest went first
        Assert.True(cache.TryGet([first[1]], now, out RequesterTrust trust));
        Assert.Equal(RequesterTrust.Manufacturer, trust);
        first.ForEach(c => c.Dispose());
    }
}
