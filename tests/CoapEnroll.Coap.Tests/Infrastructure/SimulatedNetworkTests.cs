namespace CoapEnroll.Coap.Tests.Infrastructure;

public class SimulatedNetworkTests
{
    private static readonly FaultPlan s_plan = new() { Seed = 42, DropProbability = 0.3, DuplicateProbability = 0.2, ReorderProbability = 0.2 };

    private static async Task<(List<DatagramFate> Fates, List<byte> Received)> RunAsync(FaultPlan plan)
    {
        var network = new SimulatedNetwork { DefaultPlan = plan };
        await using var a = network.CreateChannel();
        await using var b = network.CreateChannel();
        for (int i = 0; i < 200; i++)
        {
            await a.SendRawAsync([(byte)i], b.LocalEndPoint);
        }

        // The last datagram held for reordering is released by its hold limit (50 ms).
        var received = new List<byte>();
        while (await b.TryReceiveAsync(TimeSpan.FromMilliseconds(300)) is { } d)
        {
            received.Add(d.Data[0]);
        }

        return (network.Trace.Select(t => t.Fate).ToList(), received);
    }

    [Fact]
    public async Task SameSeed_SameDecisions()
    {
        var first = await RunAsync(s_plan);
        var second = await RunAsync(s_plan);
        Assert.Equal(first.Fates, second.Fates);
        Assert.Equal(first.Received, second.Received);

        var other = await RunAsync(s_plan with { Seed = 43 });
        Assert.NotEqual(first.Fates, other.Fates);
    }

    [Fact]
    public async Task FaultsHappenInRoughlyTheConfiguredProportions()
    {
        var (fates, received) = await RunAsync(s_plan);
        int dropped = fates.Count(f => f.HasFlag(DatagramFate.Dropped));
        int duplicated = fates.Count(f => f.HasFlag(DatagramFate.Duplicated));
        int reordered = fates.Count(f => f.HasFlag(DatagramFate.Reordered));
        Assert.InRange(dropped, 30, 90);
        Assert.InRange(duplicated, 10, 50);
        Assert.InRange(reordered, 10, 50);
        Assert.Equal(200 - dropped + duplicated, received.Count);
        Assert.NotEqual(received.Order().ToList(), received);
    }

    [Fact]
    public async Task DropEveryNth_AndDropCapPerDatagram()
    {
        var network = new SimulatedNetwork { DefaultPlan = new FaultPlan { DropEveryNth = 3 } };
        await using var a = network.CreateChannel();
        await using var b = network.CreateChannel();
        for (int i = 0; i < 9; i++)
        {
            await a.SendRawAsync([(byte)i], b.LocalEndPoint);
        }

        Assert.Equal([2, 5, 8], network.Find(t => t.Fate == DatagramFate.Dropped).Select(t => (int)t.Data[0]));

        // With p = 1 and a cap of 2, the third copy of the same bytes gets through.
        network.SetPlan(a.LocalEndPoint, b.LocalEndPoint, new FaultPlan { DropProbability = 1, MaxDropsPerDatagram = 2 });
        for (int i = 0; i < 3; i++)
        {
            await a.SendRawAsync([0x42], b.LocalEndPoint);
        }

        Assert.Equal([DatagramFate.Dropped, DatagramFate.Dropped, DatagramFate.Delivered], network.Find(t => t.Data[0] == 0x42).Select(t => t.Fate));
    }
}
