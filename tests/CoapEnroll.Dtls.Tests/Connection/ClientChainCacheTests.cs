using System.Net;
using System.Security.Cryptography.X509Certificates;
using static CoapEnroll.Dtls.Tests.DtlsLoopbackTests;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// The server remembers client chains that validated (<see cref="PeerChainCache"/>): a device that connects again is not
/// decoded and validated again, but only while the decision would be the same.
/// </summary>
public class ClientChainCacheTests
{
    private static TestPki Pki => TestPki.Shared;

    private static readonly byte[] s_message = [0, 0, 3, 1, 2, 3];

    [Fact]
    public async Task RepeatedChain_IsValidatedOnce_AndEachSessionStillGetsItsChain()
    {
        DtlsServerOptions options = ServerOptions(o => o.RequireClientCertificate = true);
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        DtlsClientOptions device = ClientOptions(o => o.ClientCertificate = Pki.Client);

        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout());
        DtlsSessionEndPoint firstSession = await ExchangeAsync(first, server, "1");
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout());
        DtlsSessionEndPoint secondSession = await ExchangeAsync(second, server, "2");

        Assert.Equal(1, options.ClientChains.Count);
        Assert.True(secondSession.IsPeerCertificateValidated);
        Assert.Equal("CN=device-1", Assert.Single(secondSession.PeerCertificates!).Subject);
        // The second session got the certificate decoded for the first (no new decoding), in a collection of its own.
        Assert.Same(firstSession.PeerCertificates![0], secondSession.PeerCertificates![0]);
        Assert.NotSame(firstSession.PeerCertificates, secondSession.PeerCertificates);

        // Another chain is not admitted by the entry.
        var rogue = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint,
            ClientOptions(o => o.ClientCertificate = Pki.RogueClient), Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, rogue.Alert);
        Assert.Equal(1, options.ClientChains.Count);
    }

    [Fact]
    public async Task CachedChain_IsRefused_OnceItsPathIsNoLongerTimeValid()
    {
        var time = new ShiftedTime();
        DtlsServerOptions options = ServerOptions(o =>
        {
            o.RequireClientCertificate = true;
            o.TimeProvider = time;
        });
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        DtlsClientOptions device = ClientOptions(o => o.ClientCertificate = Pki.Client);
        await using (DtlsClientChannel client = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout()))
        {
            await ExchangeAsync(client, server);
        }

        Assert.Equal(1, options.ClientChains.Count);

        // The device certificate expires after 10 days; the entry must not outlive it.
        time.Offset = Pki.Client.NotAfter.ToUniversalTime() - DateTime.UtcNow + TimeSpan.FromDays(1);
        var expired = await Assert.ThrowsAsync<DtlsHandshakeException>(() => DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout()));
        Assert.Equal(AlertDescription.BadCertificate, expired.Alert);
    }

    [Fact]
    public async Task CachedChain_IsValidatedAgain_AfterTheEntryLifetime()
    {
        var time = new ShiftedTime();
        DtlsServerOptions options = ServerOptions(o =>
        {
            o.RequireClientCertificate = true;
            o.TimeProvider = time;
        });
        await using DtlsServerChannel server = DtlsServerChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), options);
        DtlsClientOptions device = ClientOptions(o => o.ClientCertificate = Pki.Client);
        await using DtlsClientChannel first = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout());
        DtlsSessionEndPoint firstSession = await ExchangeAsync(first, server, "1");

        time.Offset = PeerChainCache.EntryLifetime + TimeSpan.FromSeconds(1);
        await using DtlsClientChannel second = await DtlsClientChannel.ConnectAsync((IPEndPoint)server.LocalEndPoint, device, Timeout());
        DtlsSessionEndPoint secondSession = await ExchangeAsync(second, server, "2");

        Assert.True(secondSession.IsPeerCertificateValidated);
        Assert.NotSame(firstSession.PeerCertificates![0], secondSession.PeerCertificates![0]); // decoded and validated again
        Assert.Equal(1, options.ClientChains.Count);
    }

    [Fact]
    public void Entry_IsUsedOnlyForTheSameBytes_WithinItsValidity()
    {
        DtlsServerOptions options = ServerOptions();
        var cache = new PeerChainCache();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        cache.Add(s_message, [Pki.Client], now.AddDays(-1), now.AddDays(1), options);

        Assert.True(cache.TryGet(s_message, options, now, out X509Certificate2[]? found));
        Assert.Same(Pki.Client, Assert.Single(found));
        Assert.False(cache.TryGet([0, 0, 3, 1, 2, 4], options, now, out _));
        Assert.False(cache.TryGet(s_message, options, now.AddDays(2), out _));
        Assert.False(cache.TryGet(s_message, options, now.AddDays(-2), out _));
    }

    [Fact]
    public void Entry_IsDropped_WhenTheTrustSettingsChange()
    {
        DtlsServerOptions options = ServerOptions();
        var cache = new PeerChainCache();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        cache.Add(s_message, [Pki.Client], now.AddDays(-1), now.AddDays(1), options);

        options.ClientCertificateIntermediates.Add(Pki.Intermediate);
        Assert.False(cache.TryGet(s_message, options, now, out _));

        options.ClientCertificateIntermediates.Clear();
        options.ClientCertificateTrustAnchors.Clear();
        options.ClientCertificateTrustAnchors.Add(Pki.RogueRoot);
        Assert.False(cache.TryGet(s_message, options, now, out _));

        // A new decision under the new settings empties the cache of the old ones.
        cache.Add([0, 0, 1, 9], [Pki.RogueClient], now.AddDays(-1), now.AddDays(1), options);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Nothing_IsCached_WithRevocationChecking_OrSizeZero()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var cache = new PeerChainCache();
        DtlsServerOptions online = ServerOptions(o => o.RevocationMode = X509RevocationMode.Online);
        cache.Add(s_message, [Pki.Client], now.AddDays(-1), now.AddDays(1), online);
        Assert.Equal(0, cache.Count);

        DtlsServerOptions off = ServerOptions(o => o.ClientChainCacheSize = 0);
        cache.Add(s_message, [Pki.Client], now.AddDays(-1), now.AddDays(1), off);
        Assert.Equal(0, cache.Count);

        // An entry made without revocation checking is not used once it is on.
        DtlsServerOptions noCheck = ServerOptions();
        cache.Add(s_message, [Pki.Client], now.AddDays(-1), now.AddDays(1), noCheck);
        Assert.True(cache.TryGet(s_message, noCheck, now, out _));
        noCheck.RevocationMode = X509RevocationMode.Offline;
        Assert.False(cache.TryGet(s_message, noCheck, now, out _));
    }

    [Fact]
    public void Size_IsBounded_OldestGoesFirst()
    {
        DtlsServerOptions options = ServerOptions(o => o.ClientChainCacheSize = 2);
        var cache = new PeerChainCache();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (byte i = 1; i <= 3; i++)
        {
            cache.Add([0, 0, 1, i], [Pki.Client], now.AddDays(-1), now.AddDays(1), options);
        }

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGet([0, 0, 1, 1], options, now, out _));
        Assert.True(cache.TryGet([0, 0, 1, 2], options, now, out _));
        Assert.True(cache.TryGet([0, 0, 1, 3], options, now, out _));
    }

    /// <summary>The system clock moved by <see cref="Offset"/>, for wall time and timestamps alike; timers stay the system's.</summary>
    private sealed class ShiftedTime : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;

        public override long GetTimestamp() => base.GetTimestamp() + (long)(Offset.TotalSeconds * TimestampFrequency);
    }
}
