using CoapEnroll.Coap;

namespace CoapEnroll.Bench;

/// <summary>What a <see cref="LoadGroup"/>'s clients saw, summed over clients.</summary>
internal sealed record LoadSummary
{
    public int Clients { get; init; }

    public int InFlight { get; init; }

    public long Sent { get; init; }

    public long Retransmissions { get; init; }

    /// <summary>Responses by code ("2.05": n, "5.03": n, …).</summary>
    public SortedDictionary<string, long> Codes { get; init; } = [];

    public long Ok { get; init; }

    public long ServiceUnavailable { get; init; }

    /// <summary>Responses other than 2.05.</summary>
    public long OtherResponses { get; init; }

    /// <summary>Given up after the last retransmission's timeout.</summary>
    public long Failed { get; init; }

    public long Resets { get; init; }

    /// <summary>Still outstanding when the drain period ended (neither answered nor failed yet).</summary>
    public int Unfinished { get; init; }

    public long Unmatched { get; init; }

    public long SendErrors { get; init; }

    /// <summary>Responses received within the load window per second of it.</summary>
    public double RequestsPerSecond { get; init; }

    /// <summary>Clients that got no 2.05 at all.</summary>
    public int ClientsNeverAnswered { get; init; }

    public long MinOkPerClient { get; init; }

    public long MedianOkPerClient { get; init; }

    public long MaxOkPerClient { get; init; }

    public double P50Ms { get; init; }

    public double P90Ms { get; init; }

    public double P99Ms { get; init; }

    public double MaxMs { get; init; }

    public static LoadSummary From(LoadGroup group, int unfinished, double windowSeconds)
    {
        IReadOnlyList<LoadClient> clients = group.Clients;
        var codes = new long[256];
        foreach (LoadClient client in clients)
        {
            for (int i = 0; i < codes.Length; i++)
            {
                codes[i] += client.Counts.ByCode[i];
            }
        }

        long[] okPerClient = [.. clients.Select(c => c.Counts.Ok).Order()];
        int[] latencies = [.. clients.SelectMany(c => c.LatenciesUs).Order()];
        long ok = clients.Sum(c => c.Counts.Ok);
        return new LoadSummary
        {
            Clients = clients.Count,
            InFlight = clients.Count == 0 ? 0 : clients[0].InFlight,
            Sent = clients.Sum(c => c.Counts.Sent),
            Retransmissions = clients.Sum(c => c.Counts.Retransmissions),
            Codes = new SortedDictionary<string, long>(Enumerable.Range(0, 256).Where(i => codes[i] > 0)
                .ToDictionary(i => new CoapCode((byte)i).ToString(), i => codes[i])),
            Ok = ok,
            ServiceUnavailable = codes[CoapCode.ServiceUnavailable.Value],
            OtherResponses = codes.Sum() - ok,
            Failed = clients.Sum(c => c.Counts.Failed),
            Resets = clients.Sum(c => c.Counts.Resets),
            Unfinished = unfinished,
            Unmatched = clients.Sum(c => c.Counts.Unmatched),
            SendErrors = group.SendErrors,
            RequestsPerSecond = clients.Sum(c => c.Counts.AnsweredInWindow) / windowSeconds,
            ClientsNeverAnswered = okPerClient.Count(n => n == 0),
            MinOkPerClient = okPerClient.FirstOrDefault(),
            MedianOkPerClient = okPerClient.Length == 0 ? 0 : okPerClient[okPerClient.Length / 2],
            MaxOkPerClient = okPerClient.LastOrDefault(),
            P50Ms = Percentile(latencies, 0.50),
            P90Ms = Percentile(latencies, 0.90),
            P99Ms = Percentile(latencies, 0.99),
            MaxMs = latencies.Length == 0 ? 0 : latencies[^1] / 1000.0,
        };
    }

    private static double Percentile(int[] sortedUs, double p) =>
        sortedUs.Length == 0 ? 0 : sortedUs[Math.Min(sortedUs.Length - 1, (int)(p * sortedUs.Length))] / 1000.0;
}
