using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>Measurements of the process-wide meter are only this class's while nothing else runs.</summary>
[CollectionDefinition(nameof(BlockWiseMetricsCollection), DisableParallelization = true)]
public sealed class BlockWiseMetricsCollection;

/// <summary>A reassembly bound that refuses is counted on <c>coap.blockwise.bound_hit</c> and logged, at most every 10 s, naming the peer.</summary>
[Collection(nameof(BlockWiseMetricsCollection))]
public class BlockWiseBoundReportTests
{
    private sealed class CapturingLogger : ILogger<CoapBlockWiseLayer>
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }

    [Fact]
    public async Task BoundHits_AreCountedEachTime_AndLoggedOncePerInterval()
    {
        var measurements = new List<(long Value, string? Bound, bool? Authenticated)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Coap" && instrument.Name == "coap.blockwise.bound_hit")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? bound = null;
            bool? authenticated = null;
            foreach (var tag in tags)
            {
                bound = tag.Key == "bound" ? (string?)tag.Value : bound;
                authenticated = tag.Key == "authenticated" ? (bool?)tag.Value : authenticated;
            }

            lock (measurements)
            {
                measurements.Add((value, bound, authenticated));
            }
        });
        listener.Start();

        var time = new AdjustableTimeProvider();
        var logger = new CapturingLogger();
        var layer = new CoapBlockWiseLayer(new RecordingHandler(_ => new CoapMessage { Code = CoapCode.Changed }),
            new CoapServerOptions { MaxUnauthenticatedTransfersPerAddress = 1, MaxReassemblyBytesTotal = 4096, MaxUnauthenticatedReassemblyBytesTotal = 2048 },
            logger: logger);
        await using var endpoint = DirectEndpoint(time);
        var body = Body(8192);

        async Task<CoapCode> SendAsync(EndPoint peer, string path = "/upload") =>
            (await layer.HandleAsync(new CoapRequestContext(Block(body, 0, 6, path, size1: false), peer, endpoint), CancellationToken.None)).Code;

        Assert.Equal(CoapCode.Continue, await SendAsync(Peer(1)));
        Assert.Equal(CoapCode.ServiceUnavailable, await SendAsync(Peer(2)));
        Assert.Equal(CoapCode.ServiceUnavailable, await SendAsync(Peer(3)));
        Assert.Equal(CoapCode.ServiceUnavailable, await SendAsync(Peer(4)));

        var first = Assert.Single(logger.Lines);
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Contains(Peer(2).ToString(), first.Message, StringComparison.Ordinal);
        Assert.Contains("unauthenticated, source 192.0.2.1", first.Message, StringComparison.Ordinal);
        Assert.Contains("Coap:MaxUnauthenticatedTransfersPerAddress = 1", first.Message, StringComparison.Ordinal);

        // Ten seconds on, the next hit is reported with the two held back.
        time.Advance(TimeSpan.FromSeconds(11));
        var device = new TestSession(new IPEndPoint(IPAddress.Parse("203.0.113.1"), 1), validatedCertificate: true);
        Assert.Equal(CoapCode.Continue, await SendAsync(device, "/a"));
        Assert.Equal(CoapCode.Continue, await SendAsync(device, "/b"));
        Assert.Equal(CoapCode.Continue, await SendAsync(device, "/c"));
        Assert.Equal(CoapCode.ServiceUnavailable, await SendAsync(device, "/d"));

        Assert.Equal(2, logger.Lines.Count);
        var second = logger.Lines[1];
        Assert.Equal(LogLevel.Warning, second.Level);
        Assert.Contains(device.ToString(), second.Message, StringComparison.Ordinal);
        Assert.Contains("Coap:MaxReassemblyBytesTotal = 4096", second.Message, StringComparison.Ordinal);
        Assert.Contains("(2 more bound hits since the last report)", second.Message, StringComparison.Ordinal);

        lock (measurements)
        {
            Assert.Equal(
                [(1, "address", false), (1, "address", false), (1, "address", false), (1, "global", true)],
                measurements);
        }
    }
}
