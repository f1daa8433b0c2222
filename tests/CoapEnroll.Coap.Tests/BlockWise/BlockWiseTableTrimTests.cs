using System.Net;
using static CoapEnroll.Coap.Tests.BlockWise.BlockWiseTestData;

namespace CoapEnroll.Coap.Tests.BlockWise;

/// <summary>
/// After a peak of transfers from many peers has expired, the sweep gives the tables' memory back: the transfer, cached-response,
/// per-peer and reassembly-holder tables shrink to what is left, and the layer keeps working.
/// </summary>
public class BlockWiseTableTrimTests
{
    private const int Peers = 300;

    private static IPEndPoint PeerAt(int i) => new(new IPAddress([10, 0, (byte)(i >> 8), (byte)i]), 40000);

    [Fact]
    public async Task A_peak_of_transfers_from_many_peers_is_trimmed_once_it_expired()
    {
        var time = new AdjustableTimeProvider();
        var inner = new RecordingHandler(ctx => ctx.Request.Code == CoapCode.Get
            ? new CoapMessage { Code = CoapCode.Content }.WithContentFormat(CoapContentFormat.OctetStream).WithPayload(Body(3000))
            : new CoapMessage { Code = CoapCode.Changed });
        var layer = new CoapBlockWiseLayer(inner, new CoapServerOptions { TransferLifetime = TimeSpan.FromSeconds(30) }) { TrimMinimumCapacity = 16 };
        await using var endpoint = DirectEndpoint(time);
        byte[] upload = Body(1000, 2);

        // Each peer leaves a cached Block2 response (it read block 0 of 3) and a Block1 upload it never finished.
        for (int i = 0; i < Peers; i++)
        {
            var get = await layer.HandleAsync(new CoapRequestContext(CoapMessage.CreateRequest(CoapCode.Get, "/big").WithBlock2(new BlockOption(0, false, 6)), PeerAt(i), endpoint), default);
            Assert.Equal(CoapCode.Content, get.Code);
            var first = await layer.HandleAsync(new CoapRequestContext(Block(upload, 0, 2), PeerAt(i), endpoint), default);
            Assert.Equal(CoapCode.Continue, first.Code);
        }

        Assert.Equal(Peers, layer.CachedResponseCount);
        Assert.Equal(Peers, layer.ReassemblyCount);
        var peak = layer.TableCapacities;
        var peakHolders = layer.HolderTableCapacities;
        Assert.True(peak.Reassemblies >= Peers && peak.Responses >= Peers && peak.Peers >= Peers, peak.ToString());
        Assert.True(peakHolders.Peers >= Peers && peakHolders.Addresses >= Peers, peakHolders.ToString());

        // All expire; the next request (another peer's) runs the sweep.
        time.Advance(TimeSpan.FromSeconds(31));
        var late = await layer.HandleAsync(new CoapRequestContext(CoapMessage.CreateRequest(CoapCode.Get, "/big").WithBlock2(new BlockOption(1, false, 6)), PeerAt(Peers), endpoint), default);
        Assert.Equal(CoapCode.Content, late.Code);
        Assert.Equal(Body(3000).AsSpan(1024, 1024).ToArray(), late.Payload.ToArray());

        Assert.Equal(0, layer.ReassemblyCount);
        Assert.Equal(1, layer.CachedResponseCount);
        var after = layer.TableCapacities;
        var afterHolders = layer.HolderTableCapacities;
        Assert.True(after.Reassemblies < 16 && after.Responses < 16 && after.Peers < 16, after.ToString());
        Assert.True(afterHolders.Peers < 16 && afterHolders.Addresses < 16, afterHolders.ToString());

        // And the tables grow again as needed.
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(CoapCode.Continue, (await layer.HandleAsync(new CoapRequestContext(Block(upload, 0, 2), PeerAt(i), endpoint), default)).Code);
        }

        Assert.Equal(40, layer.ReassemblyCount);
    }
}
