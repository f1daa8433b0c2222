using System.Collections.Concurrent;
using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap.Tests.Infrastructure;

/// <summary>
/// An in-memory datagram network for tests: channels on fake addresses (10.0.0.x:5683) exchange
/// datagrams through directed links, each applying its own deterministic <see cref="FaultPlan"/>
/// (loss, duplication, reordering, delay). Every send is recorded in <see cref="Trace"/>.
/// </summary>
public sealed class SimulatedNetwork
{
    private readonly ConcurrentDictionary<EndPoint, SimulatedDatagramChannel> _channels = new();
    private readonly ConcurrentDictionary<(EndPoint From, EndPoint To), Link> _links = new();
    private readonly ConcurrentDictionary<(EndPoint From, EndPoint To), FaultPlan> _plans = new();
    private readonly List<SimulatedDatagram> _trace = [];
    private readonly Lock _traceLock = new();
    private readonly TimeProvider _time;
    private readonly long _start;
    private int _nextAddress;

    public SimulatedNetwork(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _start = _time.GetTimestamp();
    }

    /// <summary>The plan of every link without one of its own.</summary>
    public FaultPlan DefaultPlan { get; set; } = FaultPlan.None;

    /// <summary>Every send so far, in order.</summary>
    public IReadOnlyList<SimulatedDatagram> Trace
    {
        get
        {
            lock (_traceLock)
            {
                return [.. _trace];
            }
        }
    }

    /// <summary>A channel on the next free fake address.</summary>
    public SimulatedDatagramChannel CreateChannel(int maxDatagramSize = UdpDatagramChannel.DefaultMaxDatagramSize)
    {
        int n = Interlocked.Increment(ref _nextAddress);
        return CreateChannel(new IPEndPoint(new IPAddress([10, 0, (byte)(n >> 8), (byte)n]), 5683), maxDatagramSize);
    }

    public SimulatedDatagramChannel CreateChannel(EndPoint address, int maxDatagramSize = UdpDatagramChannel.DefaultMaxDatagramSize)
    {
        var channel = new SimulatedDatagramChannel(this, address, maxDatagramSize);
        if (!_channels.TryAdd(address, channel))
        {
            throw new InvalidOperationException($"{address} is already in use.");
        }

        return channel;
    }

    /// <summary>Sets the plan of the direction <paramref name="from"/> → <paramref name="to"/> (restarting its decisions).</summary>
    public void SetPlan(EndPoint from, EndPoint to, FaultPlan plan)
    {
        _plans[(from, to)] = plan;
        _links.TryRemove((from, to), out _);
    }

    /// <summary>Sets the same plan on both directions between two endpoints (the reverse with the seed + 1).</summary>
    public void SetPlanBothWays(EndPoint a, EndPoint b, FaultPlan plan)
    {
        SetPlan(a, b, plan);
        SetPlan(b, a, plan with { Seed = plan.Seed + 1 });
    }

    /// <summary>The recorded sends matching <paramref name="predicate"/>.</summary>
    public List<SimulatedDatagram> Find(Func<SimulatedDatagram, bool> predicate)
    {
        lock (_traceLock)
        {
            return _trace.Where(predicate).ToList();
        }
    }

    internal void Detach(SimulatedDatagramChannel channel) => _channels.TryRemove(new KeyValuePair<EndPoint, SimulatedDatagramChannel>(channel.LocalEndPoint, channel));

    internal void Route(EndPoint from, byte[] data, EndPoint to)
    {
        var link = _links.GetOrAdd((from, to), key => new Link(_plans.TryGetValue(key, out var plan) ? plan : DefaultPlan));
        var plan = link.Plan;
        lock (link)
        {
            // Always the same four draws, so that datagram n's fate depends only on the seed and n.
            double dropDraw = link.Random.NextDouble();
            double duplicateDraw = link.Random.NextDouble();
            double reorderDraw = link.Random.NextDouble();
            double delayDraw = link.Random.NextDouble();
            long index = ++link.Count;

            string key = Convert.ToHexString(data);
            link.Seen.TryGetValue(key, out int earlier);
            link.Seen[key] = earlier + 1;

            bool drop = plan.DropWhen?.Invoke(data, earlier) == true;
            if (!drop && ((plan.DropEveryNth > 0 && index % plan.DropEveryNth == 0) || dropDraw < plan.DropProbability))
            {
                link.Drops.TryGetValue(key, out int dropped);
                if (dropped < plan.MaxDropsPerDatagram)
                {
                    link.Drops[key] = dropped + 1;
                    drop = true;
                }
            }

            if (drop)
            {
                Record(from, to, data, DatagramFate.Dropped);
                ReleaseHeld(link, from, to);
                return;
            }

            if (link.Held is null && reorderDraw < plan.ReorderProbability)
            {
                Record(from, to, data, DatagramFate.Reordered);
                link.Held = data;
                _ = ReleaseHeldLaterAsync(link, data, from, to);
                return;
            }

            var fate = DatagramFate.Delivered;
            int copies = duplicateDraw < plan.DuplicateProbability ? 2 : 1;
            fate |= copies == 2 ? DatagramFate.Duplicated : 0;
            bool delayed = delayDraw < plan.DelayProbability;
            fate |= delayed ? DatagramFate.Delayed : 0;
            if (!_channels.ContainsKey(to))
            {
                fate |= DatagramFate.Unroutable;
            }

            Record(from, to, data, fate);
            for (int i = 0; i < copies; i++)
            {
                if (delayed)
                {
                    _ = DeliverLaterAsync(data, from, to, plan.Delay);
                }
                else
                {
                    Deliver(data, from, to);
                }
            }

            ReleaseHeld(link, from, to);
        }
    }

    private void ReleaseHeld(Link link, EndPoint from, EndPoint to)
    {
        if (link.Held is { } held)
        {
            link.Held = null;
            Deliver(held, from, to);
        }
    }

    private async Task ReleaseHeldLaterAsync(Link link, byte[] held, EndPoint from, EndPoint to)
    {
        await Task.Delay(link.Plan.ReorderHoldLimit, _time);
        lock (link)
        {
            if (ReferenceEquals(link.Held, held))
            {
                ReleaseHeld(link, from, to);
            }
        }
    }

    private async Task DeliverLaterAsync(byte[] data, EndPoint from, EndPoint to, TimeSpan delay)
    {
        await Task.Delay(delay, _time);
        Deliver(data, from, to);
    }

    private void Deliver(byte[] data, EndPoint from, EndPoint to)
    {
        if (_channels.TryGetValue(to, out var channel))
        {
            channel.Enqueue(data, from);
        }
    }

    private void Record(EndPoint from, EndPoint to, byte[] data, DatagramFate fate)
    {
        lock (_traceLock)
        {
            _trace.Add(new SimulatedDatagram(_trace.Count, _time.GetElapsedTime(_start), from, to, data, fate));
        }
    }

    private sealed class Link(FaultPlan plan)
    {
        public FaultPlan Plan { get; } = plan;

        public Random Random { get; } = new(plan.Seed);

        public long Count { get; set; }

        public Dictionary<string, int> Seen { get; } = [];

        public Dictionary<string, int> Drops { get; } = [];

        public byte[]? Held { get; set; }
    }
}
