using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>
/// <c>dedup-memory [peers] [requestsPerPeer]</c>: the live managed memory duplicate detection holds with the shipped
/// endpoint defaults (EXCHANGE_LIFETIME 247 s, 128 exchanges per peer, 100,000 overall) once <c>peers</c> peers have
/// each sent <c>requestsPerPeer</c> new CON GETs answered like serve's <c>/test</c> (Content-Format text, 107 bytes). No
/// network: datagrams go through an <see cref="InMemoryDatagramChannel"/> on a virtual clock that advances 1 ms per request,
/// so nothing expires. Prints the live heap after a full GC before and after, per entry, and the GC's view of the heap.
/// </summary>
internal static class DeduplicationMemoryMode
{
    private const string TestText = "CoapEnroll diagnostic resource: PUT stores a body here, GET returns it, POST echoes it, DELETE removes it.\n";

    public static async Task<int> RunAsync(string[] args)
    {
        int peers = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 512;
        int perPeer = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1000;
        var time = new SteppedTimeProvider();
        await using var server = new CoapServer(new CoapServerOptions(), timeProvider: time);
        byte[] body = System.Text.Encoding.UTF8.GetBytes(TestText);
        server.MapGet("/test", (_, _) => ValueTask.FromResult(new CoapMessage { Code = CoapCode.Content }
            .WithContentFormat(CoapContentFormat.TextPlain).WithPayload(body)));
        var channel = new InMemoryDatagramChannel();
        CoapEndpoint endpoint = server.Listen(channel);
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!channel.ReceivePending && started.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(1);
        }

        byte[] request = LoadClient.CreateTemplate("/test");
        var endPoints = Enumerable.Range(0, peers).Select(i => new IPEndPoint(IPAddress.Loopback, 10000 + i)).ToArray();
        Push(channel, time, request, endPoints[0], 0);
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int round = 0; round < perPeer; round++)
        {
            for (int p = 0; p < peers; p++)
            {
                Push(channel, time, request, endPoints[p], (ushort)(round + 1));
            }
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        long entries = Math.Min((long)peers * Math.Min(perPeer, endpoint.Options.MaxDeduplicationEntriesPerPeer), endpoint.Options.MaxDeduplicationEntries);
        GCMemoryInfo info = GC.GetGCMemoryInfo();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dedup-memory: {peers} peers x {perPeer} requests, {channel.SentCount} answered; entries held (by the bounds) {entries}; " +
            $"live heap {before / 1048576.0:F1} -> {after / 1048576.0:F1} MiB (+{(after - before) / 1048576.0:F1} MiB, {(after - before) / (double)Math.Max(1, entries):F0} B/entry); " +
            $"GC heap size {info.HeapSizeBytes / 1048576.0:F1} MiB, committed {info.TotalCommittedBytes / 1048576.0:F1} MiB, gen2 collections {GC.CollectionCount(2)}"));
        GC.KeepAlive(endpoint);
        return 0;
    }

    private static void Push(InMemoryDatagramChannel channel, SteppedTimeProvider time, byte[] request, IPEndPoint peer, ushort messageId)
    {
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(2), messageId);
        time.Advance(time.TimestampFrequency / 1000);
        channel.Deliver(request, peer);
    }
}
