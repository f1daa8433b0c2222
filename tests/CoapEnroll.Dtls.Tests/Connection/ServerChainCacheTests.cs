using System.Net;
using System.Security.Cryptography.X509Certificates;
using static CoapEnroll.Dtls.Tests.DtlsLoopbackTests;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// The client remembers server chains that validated (<see cref="PeerChainCache"/> on <see cref="DtlsClientOptions"/>): connecting
/// again to the same server does not decode and validate its chain again, but only while the decision would be the same, and the
/// server name is checked every time.
/// </summary>
public class ServerChainCacheTests
{
    private static TestPki Pki => TestPki.Shared;

    [Fact]
    public async Task SameServer_IsValidatedOnce_OtherChainsAndNamesAreStillChecked()
    {
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        DtlsClientOptions options = ClientOptions();
        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout());
        await ExchangeAsync(first, server, "1");
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout());
        await ExchangeAsync(second, server, "2");

        Assert.Equal(1, options.ServerChains.Count);
        Assert.True(second.RemoteEndPoint.IsPeerCertificateValidated);
        Assert.Same(first.RemoteEndPoint.PeerCertificates![0], second.RemoteEndPoint.PeerCertificates![0]); // not decoded again
        Assert.NotSame(first.RemoteEndPoint.PeerCertificates, second.RemoteEndPoint.PeerCertificates);

        // Another server's chain (a leaf whose issuer these options cannot reach) is not admitted by the entry.
        await using DtlsServerChannel other = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions(o => o.Certificate = Pki.IntermediateServer));
        var unknown = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)other.LocalEndPoint, options, Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, unknown.Alert);

        // The cached chain is still checked against the name this connection expects.
        options.ServerName = "other.example";
        var wrongName = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, wrongName.Alert);
        Assert.Equal(1, options.ServerChains.Count);
    }

    [Fact]
    public async Task CachedChain_IsRefused_UnderOtherTrustAnchors_AndOnceExpired()
    {
        var time = new ShiftedTime();
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        DtlsClientOptions options = ClientOptions(o => o.TimeProvider = time);
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout()))
        {
            await ExchangeAsync(client, server);
        }

        Assert.Equal(1, options.ServerChains.Count);

        // The server certificate expires after 10 days; the entry must not outlive it.
        time.Offset = Pki.Server.NotAfter.ToUniversalTime() - DateTime.UtcNow + TimeSpan.FromDays(1);
        var expired = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, expired.Alert);

        time.Offset = TimeSpan.Zero;
        options.ServerCertificateTrustAnchors.Clear();
        options.ServerCertificateTrustAnchors.Add(Pki.RogueRoot);
        var untrusted = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout()));
        Assert.Equal(AlertDescription.UnknownCa, untrusted.Alert);
    }

    [Fact]
    public async Task CachedChain_IsValidatedAgain_AfterTheEntryLifetime_AndNeverWithSizeZero()
    {
        var time = new ShiftedTime();
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), ServerOptions());
        DtlsClientOptions options = ClientOptions(o => o.TimeProvider = time);
        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout());
        await ExchangeAsync(first, server, "1");

        time.Offset = PeerChainCache.EntryLifetime + TimeSpan.FromSeconds(1);
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, options, Timeout());
        await ExchangeAsync(second, server, "2");
        Assert.True(second.RemoteEndPoint.IsPeerCertificateValidated);
        Assert.NotSame(first.RemoteEndPoint.PeerCertificates![0], second.RemoteEndPoint.PeerCertificates![0]); // decoded and validated again

        DtlsClientOptions off = ClientOptions(o => o.ServerChainCacheSize = 0);
        await using DtlsClientChannel third = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, off, Timeout());
        await using DtlsClientChannel fourth = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, off, Timeout());
        Assert.Equal(0, off.ServerChains.Count);
        Assert.NotSame(third.RemoteEndPoint.PeerCertificates![0], fourth.RemoteEndPoint.PeerCertificates![0]);

        Assert.Throws<ArgumentOutOfRangeException>(() => ClientOptions(o => o.ServerChainCacheSize = -1).Validate());
    }

    /// <summary>The system clock moved by <see cref="Offset"/>, for wall time and timestamps alike; timers stay the system's.</summary>
    private sealed class ShiftedTime : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;

        public override long GetTimestamp() => base.GetTimestamp() + (long)(Offset.TotalSeconds * TimestampFrequency);
    }
}
