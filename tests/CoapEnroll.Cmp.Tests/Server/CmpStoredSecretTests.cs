using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>MAC references from the store (<see cref="CmpServer.SharedSecretStore"/>): grants, one-time use, expiry, and configuration first.</summary>
public sealed class CmpStoredSecretTests
{
    private static Task AddAsync(CmpServerFixture f, StoredSharedSecret secret) =>
        f.Store.TryAddSharedSecretAsync(secret, new AuditEntry { Actor = "test", Action = "secret-add", Details = secret.Reference }, CancellationToken.None);

    private static StoredSharedSecret Secret(string reference, string text, bool oneTime = false, DateTimeOffset? expires = null, bool anyName = false) =>
        new() { Reference = reference, Secret = Encoding.UTF8.GetBytes(text), OneTime = oneTime, ExpiresAt = expires, AnyName = anyName };

    [Fact]
    public async Task StoredSecret_Enrolls_WithItsNamesBound_AndTheAnswerIsProtectedWithIt()
    {
        await using var f = await CreateAsync();
        await AddAsync(f, Secret("sensor-4", "sensor-4-secret-91c2"));

        (PkiMessage other, ECDsa k1) = MacIr("sensor-4", "sensor-4-secret-91c2", implicitConfirm: true, subject: "CN=not-sensor-4");
        k1.Dispose();
        CertResponse refused = SingleResponse(await f.SendAsync(other), PkiBodyType.Ip);
        Assert.Equal((int)PkiStatus.Rejection, refused.Status.Status);

        (PkiMessage ir, ECDsa k2) = MacIr("sensor-4", "sensor-4-secret-91c2", implicitConfirm: true);
        k2.Dispose();
        PkiMessage ip = await f.SendAsync(ir);
        using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(ip, PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
        Assert.Equal("CN=sensor-4", issued.Subject);
        Assert.True(CmpProtection.VerifyMac(ip, Encoding.UTF8.GetBytes("sensor-4-secret-91c2"), new CmpMacPolicy()).IsValid);

        // Not one-time: it enrolls again.
        (PkiMessage again, ECDsa k3) = MacIr("sensor-4", "sensor-4-secret-91c2", implicitConfirm: true);
        k3.Dispose();
        Assert.Equal((int)PkiStatus.Accepted, SingleResponse(await f.SendAsync(again), PkiBodyType.Ip).Status.Status);
        Assert.Equal(2, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task OneTimeSecret_IsSpentByTheFirstIssuance_ItsCertConfStillWorks_ARefusalDoesNotSpendIt()
    {
        await using var f = await CreateAsync();
        await AddAsync(f, Secret("code-1", "one-time-code-5521", oneTime: true));

        // A refused request (a name the code does not grant) leaves the code unused.
        (PkiMessage wrongName, ECDsa k0) = MacIr("code-1", "one-time-code-5521", implicitConfirm: true, subject: "CN=somebody");
        k0.Dispose();
        Assert.Equal((int)PkiStatus.Rejection, SingleResponse(await f.SendAsync(wrongName), PkiBodyType.Ip).Status.Status);
        Assert.False((await f.Store.GetSharedSecretAsync("code-1", CancellationToken.None))!.IsConsumed);

        // The first issuance spends it; its own certConf (same transaction) still authenticates with it.
        (PkiMessage ir, ECDsa k1) = MacIr("code-1", "one-time-code-5521");
        k1.Dispose();
        PkiMessage ip = await f.SendAsync(ir);
        using var issued = X509CertificateLoader.LoadCertificate(SingleResponse(ip, PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
        StoredSharedSecret spent = (await f.Store.GetSharedSecretAsync("code-1", CancellationToken.None))!;
        Assert.True(spent.IsConsumed);
        Assert.Equal(Convert.ToHexString(ir.Header.TransactionId!.Value.Span), spent.ConsumedBy);
        PkiMessage certConf = Mac(CmpRequests.CertificateConfirmation(Header("code-1", ir.Header.TransactionId!.Value.ToArray(), ip.Header.SenderNonce), issued), "one-time-code-5521");
        Assert.IsType<PkiConfBody>((await f.SendAsync(certConf)).Body);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);

        // A new transaction with the spent code: notAuthorized, said under the code's own MAC (the holder proved it knows it).
        (PkiMessage second, ECDsa k2) = MacIr("code-1", "one-time-code-5521", implicitConfirm: true);
        k2.Dispose();
        PkiMessage refusal = await f.SendAsync(second);
        AssertError(refusal, PkiFailureInfo.NotAuthorized);
        Assert.Contains("one-time", Assert.Single(((ErrorBody)refusal.Body).StatusInfo.StatusString!), StringComparison.Ordinal);
        Assert.True(CmpProtection.VerifyMac(refusal, Encoding.UTF8.GetBytes("one-time-code-5521"), new CmpMacPolicy()).IsValid);

        // A wrong secret for the spent code is still just a MAC that does not verify.
        (PkiMessage guess, ECDsa k3) = MacIr("code-1", "guessing", implicitConfirm: true);
        k3.Dispose();
        AssertError(await f.SendAsync(guess), PkiFailureInfo.BadMessageCheck);
        Assert.Equal(1, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task ExpiredSecret_UnknownReference_AndConfigurationFirst()
    {
        await using var f = await CreateAsync();
        await AddAsync(f, Secret("late", "late-secret-0007", expires: f.Time.GetUtcNow().AddMinutes(5)));

        f.Time.Advance(TimeSpan.FromMinutes(6));
        (PkiMessage expired, ECDsa k1) = MacIr("late", "late-secret-0007", implicitConfirm: true);
        k1.Dispose();
        PkiMessage refusal = await f.SendAsync(expired);
        AssertError(refusal, PkiFailureInfo.NotAuthorized);
        Assert.Contains("expired", Assert.Single(((ErrorBody)refusal.Body).StatusInfo.StatusString!), StringComparison.Ordinal);

        (PkiMessage unknown, ECDsa k2) = MacIr("nobody", "whatever", implicitConfirm: true);
        k2.Dispose();
        AssertError(await f.SendAsync(unknown), PkiFailureInfo.BadMessageCheck);

        // dev-1 is configured: a stored dev-1 with another secret is hidden by it.
        await AddAsync(f, Secret(Dev1, "stored-dev-1-secret"));
        (PkiMessage stored, ECDsa k3) = MacIr(Dev1, "stored-dev-1-secret", implicitConfirm: true);
        k3.Dispose();
        AssertError(await f.SendAsync(stored), PkiFailureInfo.BadMessageCheck);
        (PkiMessage configured, ECDsa k4) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        k4.Dispose();
        Assert.Equal((int)PkiStatus.Accepted, SingleResponse(await f.SendAsync(configured), PkiBodyType.Ip).Status.Status);
        Assert.Equal(1, await f.CertificateCountAsync());
    }
}
