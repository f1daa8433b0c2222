using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// Issue 11 (crash consistency) over CMP: a kur whose kup was lost superseded the certificate that signed it; the device repeats it,
/// signed with that certificate, and gets the certificate issued the first time, and nothing else. An rr whose rp was lost, repeated,
/// is answered "already revoked", which the client reports as done.
/// </summary>
public sealed class CmpRepeatAfterLostAnswerTests
{
    private static readonly X500DistinguishedName Subject = new("CN=dev-1");

    [Fact]
    public async Task Kur_RepeatedWithTheCertificateItSuperseded_GetsTheSameCertificate_AnythingElseIsCertRevoked()
    {
        await using var f = await CreateAsync();
        using X509Certificate2 old = await EnrollAsync(f);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // The kur is answered; say the kup never arrived.
        using X509Certificate2 renewed = Issued(await f.SendAsync(Kur(old, newKey)));
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);

        // The same request (template and oldCertID; a new transaction, nonce and POP signature) signed with the old certificate.
        using X509Certificate2 again = Issued(await f.SendAsync(Kur(old, newKey)));
        Assert.Equal(renewed.RawData, again.RawData);
        Assert.Equal(2, await f.CertificateCountAsync());

        // Another key: a second update the superseded certificate may not make.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        CertResponse other = SingleResponse(await f.SendAsync(Kur(old, otherKey)), PkiBodyType.Kup);
        Assert.Equal((int)PkiStatus.Rejection, other.Status.Status);
        Assert.Equal((int)PkiFailureInfo.CertRevoked, other.Status.FailInfo);

        // Every other body signed with it: the error of an inactive signer, as before.
        using var crKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertError(await f.SendAsync(Signed(CmpRequests.CertificateRequest(PkiBodyType.Cr, Header(old), Subject, crKey), old)), PkiFailureInfo.CertRevoked);
        AssertError(await f.SendAsync(Signed(CmpRequests.Revocation(Header(old), old.IssuerName, old.SerialNumberBytes.ToArray()), old)), PkiFailureInfo.CertRevoked);
        AssertError(await f.SendAsync(Signed(CmpRequests.General(Header(old), CmpInfoTypes.CaCerts), old)), PkiFailureInfo.CertRevoked);

        Assert.Equal(2, await f.CertificateCountAsync());
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(renewed.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Kur_RepeatedAfterALostKupThatAwaitedCertConf_IsConfirmedInTheNewTransaction_AndStaysValid()
    {
        await using var f = await CreateAsync(o => o.ConfirmWaitTime = TimeSpan.FromMinutes(2));
        using X509Certificate2 old = await EnrollAsync(f);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        // The first kup, waiting for certConf, is lost: its transaction stays open at the server.
        using X509Certificate2 renewed = Issued(await f.SendAsync(Kur(old, newKey, implicitConfirm: false)));
        Assert.Equal(1, f.Server.OpenTransactions);

        // The repeat gets the same certificate, and the device confirms it in the repeat's transaction, signed with the old certificate.
        PkiMessage repeat = Kur(old, newKey, implicitConfirm: false);
        PkiMessage kup = await f.SendAsync(repeat);
        using X509Certificate2 again = Issued(kup);
        Assert.Equal(renewed.RawData, again.RawData);
        PkiMessage certConf = Signed(CmpRequests.CertificateConfirmation(
            CmpRequests.Header(old.SubjectName, null, null, repeat.Header.TransactionId!.Value, kup.Header.SenderNonce), again), old);
        Assert.IsType<PkiConfBody>((await f.SendAsync(certConf)).Body);

        // The first transaction's confirmation never comes; the certificate the device confirmed stays valid all the same.
        f.Time.Advance(TimeSpan.FromMinutes(3));
        await f.Server.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(renewed.SerialNumber, CancellationToken.None))!.Status);
        Assert.Equal(0, f.Server.OpenTransactions);
    }

    [Fact]
    public async Task Rr_RepeatedAfterALostRp_IsAnsweredAlreadyRevoked_AndTheClientReportsIt()
    {
        await using var f = await CreateAsync();
        using X509Certificate2 holder = await EnrollAsync(f);
        var options = new CmpClientOptions { Certificate = holder };
        options.TrustAnchors.Add(f.Bootstrap.Hierarchy.TrustAnchor);
        var client = new CmpClient(new InProcessTransport(f), options, f.Time);

        Assert.Equal(CmpRevocationStatus.Revoked, await client.RevokeAsync(holder, 1, CancellationToken.None));

        // The repeat, signed with the now revoked certificate it revokes: the rp for an already revoked certificate, not an error.
        RevRepBody rp = Assert.IsType<RevRepBody>((await f.SendAsync(Signed(CmpRequests.Revocation(Header(holder), holder.IssuerName, holder.SerialNumberBytes.ToArray()), holder))).Body);
        PkiStatusInfo status = Assert.Single(rp.Statuses);
        Assert.Equal((int)PkiStatus.Rejection, status.Status);
        Assert.Equal((int)PkiFailureInfo.CertRevoked, status.FailInfo);
        Assert.Equal(CmpRevocationStatus.AlreadyRevoked, await client.RevokeAsync(holder, 1, CancellationToken.None));

        // The first reason holds.
        Assert.Equal(1, (await f.Store.GetCertificateAsync(holder.SerialNumber, CancellationToken.None))!.RevocationReason);

        // Any other request signed with it is still refused with the error of a revoked signer.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertError(await f.SendAsync(Signed(CmpRequests.CertificateRequest(PkiBodyType.Kur, Header(holder), Subject, key, null, holder), holder)), PkiFailureInfo.CertRevoked);
    }

    [Fact]
    public async Task Rr_SignedBySupersededCertificateOfItself_IsAnErrorThatTheClientDoesNotTakeForARevocation()
    {
        await using var f = await CreateAsync();
        using X509Certificate2 old = await EnrollAsync(f);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 renewed = Issued(await f.SendAsync(Kur(old, newKey)));
        var options = new CmpClientOptions { Certificate = old };
        options.TrustAnchors.Add(f.Bootstrap.Hierarchy.TrustAnchor);

        // Superseded is not revoked: the client must not report it revoked.
        CmpException refused = await Assert.ThrowsAsync<CmpException>(() => new CmpClient(new InProcessTransport(f), options, f.Time).RevokeAsync(old, 1, CancellationToken.None));
        Assert.True(refused.IsRefusal);
        Assert.Equal(PkiFailureInfo.CertRevoked, refused.FailureInfo);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);
    }

    /// <summary>A certificate for CN=dev-1 from a MAC-protected ir, with its key.</summary>
    private static async Task<X509Certificate2> EnrollAsync(CmpServerFixture f)
    {
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            using X509Certificate2 issued = Issued(await f.SendAsync(ir));
            return issued.CopyWithPrivateKey(key);
        }
    }

    private static PkiMessage Kur(X509Certificate2 old, ECDsa newKey, bool implicitConfirm = true) =>
        Signed(CmpRequests.CertificateRequest(PkiBodyType.Kur, Header(old, implicitConfirm), Subject, newKey, null, old), old);

    private static PkiHeader Header(X509Certificate2 signer, bool implicitConfirm = false) =>
        CmpRequests.Header(signer.SubjectName, null, null, CmpRequests.NewId(), null, implicitConfirm);

    private static PkiMessage Signed(PkiMessage message, X509Certificate2 signer) => CmpProtection.ProtectWithSignature(message, signer, []);

    private static X509Certificate2 Issued(PkiMessage answer)
    {
        CertResponse response = Assert.Single(Assert.IsType<CertRepMessageBody>(answer.Body).Responses);
        Assert.True(response.Status.Status == (int)PkiStatus.Accepted, string.Join("; ", response.Status.StatusString ?? []));
        return X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
    }

    /// <summary>The CMP client talking to the fixture's server in process.</summary>
    private sealed class InProcessTransport(CmpServerFixture f) : ICmpTransport
    {
        public async Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken)
        {
            CmpExchangeResult result = await f.Server.HandleAsync(der, Context(), cancellationToken);
            Assert.False(result.IsMalformed, result.Detail);
            return result.Response!;
        }
    }
}
