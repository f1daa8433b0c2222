using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CoapEnroll.Cmp.Tests.Client;

/// <summary>CmpClient refuses answers that are not for its request: other transaction, other nonce, wrong or no protection; errors are refusals.</summary>
public sealed class CmpClientCheckTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("client-check-secret");

    /// <summary>Answers each request with what <c>answer</c> makes of it (a genp by default), MAC-protected with <c>secret</c> unless null.</summary>
    private sealed class FakeTransport(Func<PkiMessage, PkiMessage> answer, byte[]? secret) : ICmpTransport
    {
        public Task<byte[]> SendAsync(byte[] der, bool endsTransaction, CancellationToken cancellationToken)
        {
            CmpDecodeResult request = PkiMessageCodec.Decode(der);
            Assert.True(request.IsSuccess, request.Reason);
            PkiMessage reply = answer(request.Message);
            if (secret is not null)
            {
                reply = CmpProtection.ProtectWithMac(reply, secret, CmpMacParameters.PasswordBasedMac());
            }

            return Task.FromResult(PkiMessageCodec.Encode(reply));
        }
    }

    private static PkiHeader Reply(PkiMessage request, ReadOnlyMemory<byte>? transactionId = null, ReadOnlyMemory<byte>? recipNonce = null) =>
        CmpRequests.Header(new X500DistinguishedName("CN=fake CA"), null, Encoding.UTF8.GetBytes("fake"), transactionId ?? request.Header.TransactionId!.Value,
            recipNonce ?? request.Header.SenderNonce);

    private static PkiMessage Genp(PkiMessage request, PkiHeader header) =>
        new() { Header = header, Body = new GenMsgBody(PkiBodyType.Genp) { Items = [new InfoTypeAndValue { InfoType = CmpInfoTypes.CaCerts }] } };

    private static CmpClient Client(FakeTransport transport) =>
        new(transport, new CmpClientOptions { Reference = "ref", SharedSecret = Secret });

    [Fact]
    public async Task AMatchingAnswer_IsAccepted()
    {
        var items = await Client(new FakeTransport(r => Genp(r, Reply(r)), Secret)).GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None);
        Assert.Equal(CmpInfoTypes.CaCerts, Assert.Single(items).InfoType);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AServerThatAnswersEveryPollWithWaiting_IsPolledOncePerSecond_WithinTheBudget(bool pollRepWithCheckAfter0)
    {
        // RFC 9483 §4.4 wants a pollRep (with checkAfter) for a pollReq; a server that answers waiting again instead, or a pollRep
        // with checkAfter 0, must not make the client poll as fast as it answers.
        int requests = 0;
        var transport = new FakeTransport(r =>
        {
            if (Interlocked.Increment(ref requests) > 100)
            {
                throw new InvalidOperationException("polled 100 times without waiting");
            }

            PkiBody body = pollRepWithCheckAfter0 && r.Body.BodyType == PkiBodyType.PollReq
                ? new PollRepBody { Entries = [new PollRepEntry { CertReqId = 0, CheckAfter = 0 }] }
                : new CertRepMessageBody(PkiBodyType.Ip) { Responses = [new CertResponse { CertReqId = 0, Status = new PkiStatusInfo { Status = (int)PkiStatus.Waiting } }] };
            return new PkiMessage { Header = Reply(r), Body = body };
        }, Secret);
        var time = new CoapEnroll.Testing.ManualTimeProvider();
        var client = new CmpClient(transport, new CmpClientOptions { Reference = "ref", SharedSecret = Secret, MaxPollWait = TimeSpan.FromSeconds(5) }, time);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var e = await Assert.ThrowsAsync<CmpException>(() => time.RunAsync(client.EnrollAsync(PkiBodyType.Ir, key, new X500DistinguishedName("CN=patient"), null, CancellationToken.None)));
        Assert.Contains("still waiting after 5 s", e.Message, StringComparison.Ordinal);
        Assert.True(e.GaveUpWaiting && !e.IsRefusal);

        // The ir, the pollReq at once, then one a second: at 1, 2, 3, 4 and 5 s; the next would pass 5 s.
        Assert.Equal(7, Volatile.Read(ref requests));
        Assert.Equal(TimeSpan.FromSeconds(5), time.Elapsed);
    }

    [Fact]
    public async Task AnotherTransaction_IsRejected()
    {
        var e = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(r => Genp(r, Reply(r, transactionId: CmpRequests.NewId())), Secret))
            .GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.Contains("transactionID", e.Message, StringComparison.Ordinal);
        Assert.False(e.IsRefusal);
    }

    [Fact]
    public async Task AnotherRecipNonce_IsRejected()
    {
        var e = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(r => Genp(r, Reply(r, recipNonce: CmpRequests.NewId())), Secret))
            .GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.Contains("recipNonce", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongMac_AndNoProtection_AreRejected()
    {
        var wrong = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(r => Genp(r, Reply(r)), Encoding.UTF8.GetBytes("other")))
            .GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.Contains("protection", wrong.Message, StringComparison.Ordinal);

        var none = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(r => Genp(r, Reply(r)), null))
            .GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.Contains("not protected", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorBody_IsARefusal_WithFailInfoAndText()
    {
        PkiMessage Error(PkiMessage r) => new()
        {
            Header = Reply(r),
            Body = new ErrorBody { StatusInfo = new PkiStatusInfo { Status = (int)PkiStatus.Rejection, FailInfo = (int)PkiFailureInfo.BadMessageCheck, StatusString = ["the MAC does not verify"] } },
        };

        var e = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(Error, Secret)).GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.True(e.IsRefusal && e.IsAuthenticated);
        Assert.Equal(PkiFailureInfo.BadMessageCheck, e.FailureInfo);
        Assert.Equal("refused: badMessageCheck: the MAC does not verify", e.Message);

        // Unprotected, it is still reported, and said to be unauthenticated.
        var unprotected = await Assert.ThrowsAsync<CmpException>(() => Client(new FakeTransport(Error, null)).GeneralAsync([CmpInfoTypes.CaCerts], CancellationToken.None));
        Assert.False(unprotected.IsAuthenticated);
        Assert.Contains("does not verify)", unprotected.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_NeedExactlyOneProtection()
    {
        var transport = new FakeTransport(r => r, null);
        Assert.Throws<ArgumentException>(() => new CmpClient(transport, new CmpClientOptions()));
        Assert.Throws<ArgumentException>(() => new CmpClient(transport, new CmpClientOptions { SharedSecret = Secret }));
    }
}
