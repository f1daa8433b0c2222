using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// Issue 13 (several nodes, one store): a CMP transaction opened on one node continues on another, because the store, not the
/// node's memory, holds it. Each node here is its own store instance, CA and CMP server on one database, as separate processes are.
/// </summary>
public sealed class CmpTwoNodeTests
{
    [Fact]
    public async Task CertConf_ReachingAnotherNode_Confirms_AndNeitherNodeRevokesTheCertificateLater()
    {
        await using var f = await CreateAsync(o => o.ConfirmWaitTime = TimeSpan.FromMinutes(2));
        (CmpServer b, _) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        PkiMessage ip = await f.SendAsync(ir);
        using X509Certificate2 issued = Issued(ip);

        // Node B checks what node A would: the nonce and the requester.
        byte[] id = ir.Header.TransactionId!.Value.ToArray();
        AssertError(await SendToAsync(b, Mac(CmpRequests.CertificateConfirmation(Header(Dev1, id, CmpRequests.NewId()), issued), Dev1Secret)), PkiFailureInfo.BadRecipientNonce);
        AssertError(await SendToAsync(b, Mac(CmpRequests.CertificateConfirmation(Header(Dev2, id, ip.Header.SenderNonce), issued), Dev2Secret)), PkiFailureInfo.NotAuthorized);

        PkiMessage certConf = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, id, ip.Header.SenderNonce), issued), Dev1Secret);
        Assert.IsType<PkiConfBody>((await SendToAsync(b, certConf)).Body);

        // The same certConf again, at the node that opened the transaction: it is closed there too.
        PkiMessage again = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, id, ip.Header.SenderNonce), issued), Dev1Secret);
        AssertError(await f.SendAsync(again), PkiFailureInfo.BadRequest);

        f.Time.Advance(TimeSpan.FromMinutes(3));
        await f.Server.SweepAsync(CancellationToken.None);
        await b.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.Status);
        Assert.Equal(0, f.Server.OpenTransactions);
    }

    [Fact]
    public async Task Unconfirmed_IsRevokedByAnotherNodesSweep_AndARejectionAtAnotherNodeRevokes()
    {
        await using var f = await CreateAsync(o => o.ConfirmWaitTime = TimeSpan.FromMinutes(2));
        (CmpServer b, _) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        using X509Certificate2 forgotten = Issued(await f.SendAsync(ir));

        (PkiMessage ir2, ECDsa key2) = MacIr(Dev2, Dev2Secret);
        key2.Dispose();
        PkiMessage ip2 = await f.SendAsync(ir2);
        using X509Certificate2 rejected = Issued(ip2);
        PkiMessage rejection = Mac(CmpRequests.CertificateConfirmation(Header(Dev2, ir2.Header.TransactionId!.Value.ToArray(), ip2.Header.SenderNonce), rejected,
            rejection: "wrong key"), Dev2Secret);
        Assert.IsType<PkiConfBody>((await SendToAsync(b, rejection)).Body);
        Assert.Equal(CertificateStatus.Revoked, (await f.Store.GetCertificateAsync(rejected.SerialNumber, CancellationToken.None))!.Status);

        // Node A stopped: node B's sweep leaves its transaction alone before the deadline and revokes its certificate after it.
        await b.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(forgotten.SerialNumber, CancellationToken.None))!.Status);
        f.Time.Advance(TimeSpan.FromMinutes(3));
        await b.SweepAsync(CancellationToken.None);
        Assert.Equal(CertificateStatus.Revoked, (await f.Store.GetCertificateAsync(forgotten.SerialNumber, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Pending_OnOneNode_PolledOnASecond_ApprovedOnAThird_IsDeliveredByTheSecond_AndConfirmedAtTheFirst()
    {
        await using var f = await CreateAsync(configureCa: ca => ca.Profiles = new() { ["default"] = new CertificateProfileOptions { RequiresApproval = true } });
        (CmpServer b, _) = await f.AddNodeAsync();
        (_, CertificateAuthority c) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        PkiMessage waiting = await f.SendAsync(ir);
        Assert.Equal((int)PkiStatus.Waiting, SingleResponse(waiting, PkiBodyType.Ip).Status.Status);
        byte[] id = ir.Header.TransactionId!.Value.ToArray();

        // Polled at B before anyone decided: still waiting, and B answers with a nonce of its own that the next message must echo.
        PkiMessage pollRep = await SendToAsync(b, Mac(CmpRequests.Poll(Header(Dev1, id, waiting.Header.SenderNonce)), Dev1Secret));
        Assert.IsType<PollRepBody>(pollRep.Body);
        AssertError(await f.SendAsync(Mac(CmpRequests.Poll(Header(Dev1, id, waiting.Header.SenderNonce)), Dev1Secret)), PkiFailureInfo.BadRecipientNonce);

        StoredRequest pending = Assert.Single(await f.Store.ListPendingRequestsAsync(10, CancellationToken.None));
        Assert.Equal(IssuanceStatus.Issued, (await c.ApproveAsync(pending.Id, "operator", CancellationToken.None)).Status);

        PkiMessage ip = await SendToAsync(b, Mac(CmpRequests.Poll(Header(Dev1, id, pollRep.Header.SenderNonce)), Dev1Secret));
        using X509Certificate2 issued = Issued(ip);
        Assert.Equal(pending.Id, (await f.Store.GetCertificateAsync(issued.SerialNumber, CancellationToken.None))!.RequestId);
        PkiMessage certConf = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, id, ip.Header.SenderNonce), issued), Dev1Secret);
        Assert.IsType<PkiConfBody>((await f.SendAsync(certConf)).Body);
        Assert.Equal(1, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task ATransactionId_OpenedOnOneNode_IsInUseOnAnother_EvenAfterItClosed()
    {
        await using var f = await CreateAsync();
        (CmpServer b, _) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        key.Dispose();
        Issued(await f.SendAsync(ir)).Dispose();

        AssertError(await SendToAsync(b, ir), PkiFailureInfo.TransactionIdInUse);
        Assert.Equal(1, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task Kur_ConfirmedAtAnotherNode_WithTheCertificateItSuperseded()
    {
        await using var f = await CreateAsync();
        (CmpServer b, _) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using X509Certificate2 first = Issued(await f.SendAsync(ir));
        using X509Certificate2 old = first.CopyWithPrivateKey(key);
        key.Dispose();

        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        PkiMessage kur = Signed(CmpRequests.CertificateRequest(PkiBodyType.Kur, SignerHeader(old), old.SubjectName, newKey, null, old), old);
        PkiMessage kup = await f.SendAsync(kur);
        using X509Certificate2 renewed = Issued(kup);
        Assert.Equal(CertificateStatus.Superseded, (await f.Store.GetCertificateAsync(old.SerialNumber, CancellationToken.None))!.Status);

        // Node B never saw the kur; the certConf is signed with the superseded certificate, which only the kur's transaction vouches for.
        PkiMessage certConf = Signed(CmpRequests.CertificateConfirmation(
            CmpRequests.Header(old.SubjectName, null, null, kur.Header.TransactionId!.Value, kup.Header.SenderNonce), renewed), old);
        Assert.IsType<PkiConfBody>((await SendToAsync(b, certConf)).Body);
        Assert.Equal(CertificateStatus.Active, (await f.Store.GetCertificateAsync(renewed.SerialNumber, CancellationToken.None))!.Status);

        // Anything else signed with it is refused at B as at A.
        using var crKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertError(await SendToAsync(b, Signed(CmpRequests.CertificateRequest(PkiBodyType.Cr, SignerHeader(old), old.SubjectName, crKey), old)),
            PkiFailureInfo.CertRevoked);
    }

    [Fact]
    public async Task AFullShare_ForgetsTheTransactionsAnotherNodeClosed_ButNotOpenOnes()
    {
        await using var f = await CreateAsync(o => o.MaxOpenTransactionsPerRequester = 1);
        (CmpServer b, _) = await f.AddNodeAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret);
        key.Dispose();
        PkiMessage ip = await f.SendAsync(ir);
        using X509Certificate2 issued = Issued(ip);

        (PkiMessage refused, ECDsa k2) = MacIr(Dev1, Dev1Secret);
        k2.Dispose();
        AssertError(await f.SendAsync(refused), PkiFailureInfo.SystemUnavail);

        PkiMessage certConf = Mac(CmpRequests.CertificateConfirmation(Header(Dev1, ir.Header.TransactionId!.Value.ToArray(), ip.Header.SenderNonce), issued), Dev1Secret);
        Assert.IsType<PkiConfBody>((await SendToAsync(b, certConf)).Body);
        Assert.Equal(1, f.Server.OpenTransactions);

        (PkiMessage next, ECDsa k3) = MacIr(Dev1, Dev1Secret);
        k3.Dispose();
        Issued(await f.SendAsync(next)).Dispose();
        Assert.Equal(1, f.Server.OpenTransactions);
    }

    private static PkiHeader SignerHeader(X509Certificate2 signer) => CmpRequests.Header(signer.SubjectName, null, null, CmpRequests.NewId());

    private static PkiMessage Signed(PkiMessage message, X509Certificate2 signer) => CmpProtection.ProtectWithSignature(message, signer, []);

    private static X509Certificate2 Issued(PkiMessage answer)
    {
        CertResponse response = Assert.Single(Assert.IsType<CertRepMessageBody>(answer.Body).Responses);
        Assert.True(response.Status.Status == (int)PkiStatus.Accepted, string.Join("; ", response.Status.StatusString ?? []));
        return X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
    }
}
