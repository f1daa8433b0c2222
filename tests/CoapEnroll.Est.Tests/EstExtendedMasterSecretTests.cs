using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;

namespace CoapEnroll.Est.Tests;

/// <summary>
/// EST over a DTLS session without the extended master secret (a legacy device admitted by
/// <see cref="ExtendedMasterSecretPolicy.Optional"/>): its tls-unique is not unique to the session (RFC 7627 §6.1), so a
/// proof-of-possession link is refused with 4.03 and recorded, while a CSR without one is still served.
/// </summary>
public sealed class EstExtendedMasterSecretTests
{
    private const string Diagnostic =
        "linking of identity and POP information needs a DTLS session with extended_master_secret: without it tls-unique is not unique to the session (RFC 7627 section 6.1)";

    private static Task<EstFixture> StartOptionalAsync(bool requirePopLinking = false) => EstFixture.StartAsync(
        o => o.RequirePopLinking = requirePopLinking, configureDtls: d => d.ExtendedMasterSecret = ExtendedMasterSecretPolicy.Optional);

    /// <summary>A CSR whose challengePassword is the session's own tls-unique, read below the guard that refuses it.</summary>
    private static byte[] CsrLinkedToTheRawTlsUnique(EstCoapsClient client, ECDsa key) => client.CreateCsr(new X500DistinguishedName("CN=legacy-pop"), key,
        r => r.OtherRequestAttributes.Add(EstCoapsClient.ChallengePassword(Convert.ToBase64String(client.Session.Connection.TlsUnique!))),
        linkProofOfPossession: false);

    [Fact]
    public async Task Pop_linked_csr_over_a_session_without_ems_is_4_03_and_leaves_one_rejected_request()
    {
        await using EstFixture est = await StartOptionalAsync();
        await using EstCoapsClient client = await est.ClientAsync(legacy: true);
        Assert.False(client.Session.IsExtendedMasterSecretNegotiated);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // Even the session's true tls-unique links nothing here.
        byte[] csr = CsrLinkedToTheRawTlsUnique(client, key);
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(csr, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, refused.Code);
        Assert.Equal(Diagnostic, refused.Diagnostic);

        StoredRequest row = Assert.Single(await est.RequestsAsync());
        Assert.Equal(RequestStatus.Rejected, row.Status);
        Assert.Equal(RejectionReason.NotAuthorized, row.RejectionReason);
        Assert.Equal("/sen: " + Diagnostic, row.ReasonDetail);
        Assert.Equal(EstFixture.RequesterOf(est.Device), row.Requester);
        Assert.Equal(csr, row.CsrDer);
        Assert.Empty(await est.CertificatesAsync());

        // The client library refuses to build such a link in the first place (RFC 7627 §5.4).
        var unlinkable = Assert.Throws<InvalidOperationException>(() => client.CreateCsr(new X500DistinguishedName("CN=legacy-pop"), key));
        Assert.Contains("extended_master_secret", unlinkable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csr_without_a_link_over_a_session_without_ems_is_issued()
    {
        await using EstFixture est = await StartOptionalAsync();
        await using EstCoapsClient client = await est.ClientAsync(configure: o => o.LinkProofOfPossession = false, legacy: true);
        X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=legacy-device"), cancellationToken: EstFixture.Timeout());
        Assert.Equal("CN=legacy-device", issued.Subject);
        Assert.Single(await est.CertificatesAsync());
    }

    [Fact]
    public async Task RequirePopLinking_refuses_every_csr_over_a_session_without_ems()
    {
        await using EstFixture est = await StartOptionalAsync(requirePopLinking: true);
        await using EstCoapsClient client = await est.ClientAsync(legacy: true);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] unlinked = client.CreateCsr(new X500DistinguishedName("CN=legacy"), key, linkProofOfPossession: false);
        var refused = await Assert.ThrowsAsync<EstRequestException>(() => client.EnrollAsync(unlinked, cancellationToken: EstFixture.Timeout()));
        Assert.Equal(CoapCode.Forbidden, refused.Code);
        Assert.Equal(Diagnostic, refused.Diagnostic);
        Assert.Equal(RejectionReason.NotAuthorized, Assert.Single(await est.RequestsAsync()).RejectionReason);
        Assert.Empty(await est.CertificatesAsync());
    }

    [Fact]
    public async Task Optional_server_still_links_pop_for_devices_that_negotiate_ems()
    {
        await using EstFixture est = await StartOptionalAsync(requirePopLinking: true);
        await using EstCoapsClient client = await est.ClientAsync();
        Assert.True(client.Session.IsExtendedMasterSecretNegotiated);
        X509Certificate2 issued = await client.EnrollAsync(new X500DistinguishedName("CN=modern-device"), cancellationToken: EstFixture.Timeout());
        Assert.Equal("CN=modern-device", issued.Subject);
        Assert.Equal(RequestStatus.Issued, Assert.Single(await est.RequestsAsync()).Status);
    }
}
