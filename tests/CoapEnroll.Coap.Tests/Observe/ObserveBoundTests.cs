using System.Net;
using CoapEnroll.Testing;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Coap.Tests.Observe;

/// <summary>Measurements of the process-wide meter <c>CoapEnroll.Coap</c> are only this collection's while nothing else runs.</summary>
[CollectionDefinition(nameof(ObserveMetricsCollection), DisableParallelization = true)]
public sealed class ObserveMetricsCollection;

/// <summary>
/// Observe registrations are bounded per peer, per source address and in total: past a bound the GET is answered as a plain
/// GET, 2.05 without Observe (RFC 7641 §4.1), counted on <c>coap.observe.bound_hit</c> and logged, and other peers still observe.
/// </summary>
[Collection(nameof(ObserveMetricsCollection))]
public class ObserveBoundTests
{
    private static byte[] Token(int i) => [0x0B, (byte)(i >> 8), (byte)i];

    [Fact]
    public async Task One_peer_past_MaxObserversPerPeer_is_served_without_Observe_and_another_peer_still_observes()
    {
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        var logs = new CapturingLoggerFactory();
        await using var server = new ObserveTestServer(o => o.MaxObserversPerPeer = 3, logs);
        await using var hostile = RawCoapPeer.Create(server.Address);
        for (int i = 0; i < 3; i++)
        {
            Assert.NotNull((await hostile.RequestAsync(ObserveTestServer.Register(Token(i)))).Observe);
        }

        for (int i = 3; i < 10; i++)
        {
            var refused = await hostile.RequestAsync(ObserveTestServer.Register(Token(i)));
            Assert.Equal(CoapCode.Content, refused.Code);
            Assert.Null(refused.Observe);
        }

        Assert.Equal(3, server.Server.ObserveLayer.Count);
        Assert.Equal(7, meters.Sum("coap.observe.bound_hit", "peer"));
        Assert.Equal(3, meters.Sum("coap.observe.registrations"));

        // Renewing a registration it holds is no new one.
        Assert.NotNull((await hostile.RequestAsync(ObserveTestServer.Register(Token(0)))).Observe);
        Assert.Equal(7, meters.Sum("coap.observe.bound_hit"));

        // One log line for the seven refusals, naming the bound and the peer.
        var line = Assert.Single(logs.Lines, l => l.Message.Contains("Coap:MaxObserversPerPeer", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Contains(hostile.LocalEndPoint.ToString(), line.Message, StringComparison.Ordinal);

        // Another peer at the same address is still observed and notified.
        await using var other = RawCoapPeer.Create(server.Address);
        Assert.NotNull((await other.RequestAsync(ObserveTestServer.Register(Token(0)))).Observe);
        server.State = 7;
        server.Resource.NotifyObservers();
        var notification = await other.ReceiveAsync();
        Assert.Equal("7", notification.PayloadText);
        Assert.NotNull(notification.Observe);

        // A deregistration (Observe 1) gives the peer its room back.
        Assert.Null((await hostile.RequestAsync(ObserveTestServer.Register(Token(1), observe: 1))).Observe);
        Assert.NotNull((await hostile.RequestAsync(ObserveTestServer.Register(Token(11)))).Observe);
        Assert.Equal(4, meters.Sum("coap.observe.registrations"));
    }

    [Fact]
    public async Task Ports_of_one_address_share_MaxObserversPerAddress_and_MaxObservers_bounds_all()
    {
        using var meters = new MeterRecorder("CoapEnroll.Coap");
        await using var server = new ObserveTestServer(o =>
        {
            o.MaxObserversPerAddress = 4;
            o.MaxObservers = 6;
        });
        var ports = new List<RawCoapPeer>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                var port = RawCoapPeer.Create(server.Address);
                ports.Add(port);
                var response = await port.RequestAsync(ObserveTestServer.Register(Token(i)));
                Assert.Equal(CoapCode.Content, response.Code);
                Assert.Equal(i < 4, response.Observe is not null);
            }

            Assert.Equal(2, meters.Sum("coap.observe.bound_hit", "address"));

            // Another address gets the rest of the total, then the total refuses it too.
            await using var second = RawCoapPeer.Create(server.Address, IPAddress.Parse("127.0.0.2"));
            Assert.NotNull((await second.RequestAsync(ObserveTestServer.Register(Token(100)))).Observe);
            Assert.NotNull((await second.RequestAsync(ObserveTestServer.Register(Token(101)))).Observe);
            Assert.Null((await second.RequestAsync(ObserveTestServer.Register(Token(102)))).Observe);
            Assert.Equal(1, meters.Sum("coap.observe.bound_hit", "global"));
            Assert.Equal(6, server.Server.ObserveLayer.Count);
            Assert.Equal(6, meters.Sum("coap.observe.registrations"));
        }
        finally
        {
            foreach (var port in ports)
            {
                await port.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task After_a_peak_of_observers_the_tables_are_trimmed_as_they_leave()
    {
        const int observers = 100;
        await using var server = new ObserveTestServer(o => { o.MaxObserversPerPeer = 200; o.MaxObserversPerAddress = 200; });
        server.Server.ObserveLayer.TrimMinimumCapacity = 16;
        var peers = new List<RawCoapPeer>();
        try
        {
            // Each peer from an address of its own (any 127/8 address is loopback on Linux): the peer and address tables grow too.
            for (int i = 0; i < observers; i++)
            {
                var peer = RawCoapPeer.Create(server.Address, new IPAddress([127, 0, 10, (byte)(i + 1)]));
                peers.Add(peer);
                Assert.NotNull((await peer.RequestAsync(ObserveTestServer.Register(Token(i)))).Observe);
            }

            Assert.Equal(observers, server.Server.ObserveLayer.Count);

            // One NON notification each: its message ID is remembered (a Reset to it removes the observer, RFC 7641 §3.6).
            server.State = 4;
            server.Resource.NotifyObservers();
            foreach (var peer in peers)
            {
                var notification = await peer.ReceiveAsync();
                Assert.Equal(("4", CoapMessageType.NonConfirmable), (notification.PayloadText, notification.Type));
            }

            Assert.Equal(observers, server.Server.ObserveLayer.RememberedNotificationCount);
            var peak = server.Server.ObserveLayer.TableCapacities;
            Assert.True(peak.Registrations >= observers && peak.Peers >= observers && peak.Addresses >= observers && peak.Notifications >= observers,
                peak.ToString());

            // All but two deregister (GET with Observe 1, RFC 7641 §3.6).
            for (int i = 2; i < observers; i++)
            {
                var answer = await peers[i].RequestAsync(ObserveTestServer.Register(Token(i), observe: 1));
                Assert.Null(answer.Observe);
            }

            Assert.Equal(2, server.Server.ObserveLayer.Count);
            Assert.Equal(2, server.Server.ObserveLayer.CountObservers(server.Resource));
            var after = server.Server.ObserveLayer.TableCapacities;
            Assert.True(after.Registrations < 16 && after.Peers < 16 && after.Addresses < 16 && after.Notifications < 16, after.ToString());
            Assert.Equal(2, server.Server.ObserveLayer.RememberedNotificationCount);

            // The two left are still notified.
            server.State = 5;
            server.Resource.NotifyObservers();
            Assert.Equal("5", (await peers[0].ReceiveAsync()).PayloadText);
            Assert.Equal("5", (await peers[1].ReceiveAsync()).PayloadText);
        }
        finally
        {
            foreach (var peer in peers)
            {
                await peer.DisposeAsync();
            }
        }
    }

    /// <summary>Keeps what every logger it makes logs.</summary>
    private sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
    {
        private readonly List<(LogLevel Level, string Message)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines)
            {
                _lines.Add((logLevel, formatter(state, exception)));
            }
        }

        public void Dispose()
        {
        }
    }
}
