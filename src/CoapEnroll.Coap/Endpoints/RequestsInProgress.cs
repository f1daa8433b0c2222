using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap;

/// <summary>
/// Counts the requests whose handler did not answer at once, per peer, per source address (an IPv4 address or IPv6 /64, over all
/// its ports and DTLS sessions) and in total, and refuses a request while its peer, its address or everybody has as many as the
/// bounds allow: without it a peer could queue thread-pool work as fast as it sends. The check and <see cref="Enter"/> both run
/// on the endpoint's receive path, one request after another, so a request is counted before the next one is checked;
/// <see cref="Slot.Release"/> comes from wherever the handler ends. The tables hold only peers and addresses with a request in
/// progress, so neither has more than <c>total</c> entries, and while nothing is in progress a request costs one volatile read.
/// </summary>
internal sealed class RequestsInProgress
{
    // How long a refused client is asked to wait (Max-Age of the 4.29 or 5.03), in seconds.
    private const uint RetryAfterSeconds = 1;

    private readonly Dictionary<EndPoint, int> _perPeer = [];
    private readonly Dictionary<object, int> _perAddress = [];
    private readonly Lock _lock = new();
    private readonly int _maxPerPeer;
    private readonly int _maxPerAddress;
    private readonly int _maxTotal;
    private readonly TimeProvider _time;
    private readonly CoapEndpoint _endpoint;
    private readonly ReportThrottle _reports = new(CoapEndpoint.BoundReportInterval);
    private int _total;

    public RequestsInProgress(int maxPerPeer, int maxPerAddress, int maxTotal, TimeProvider time, CoapEndpoint endpoint)
    {
        _maxPerPeer = maxPerPeer;
        _maxPerAddress = maxPerAddress;
        _maxTotal = maxTotal;
        _time = time;
        _endpoint = endpoint;
    }

    public int Total => Volatile.Read(ref _total);

    /// <summary>The answer for a request of <paramref name="peer"/> that a bound refuses, or null to let it through.</summary>
    public CoapMessage? Refuse(EndPoint peer)
    {
        if (Volatile.Read(ref _total) == 0)
        {
            return null;
        }

        object address = BlockSource.AddressOf(peer);
        int ofPeer;
        int ofAddress;
        int total;
        lock (_lock)
        {
            _perPeer.TryGetValue(peer, out ofPeer);
            _perAddress.TryGetValue(address, out ofAddress);
            total = _total;
        }

        (string Bound, int InProgress, string Key)? hit =
            ofPeer >= _maxPerPeer ? ("peer", ofPeer, "Coap:Endpoint:MaxRequestsInProgressPerPeer")
            : ofAddress >= _maxPerAddress ? ("address", ofAddress, "Coap:Endpoint:MaxRequestsInProgressPerAddress")
            : total >= _maxTotal ? ("global", total, "Coap:Endpoint:MaxRequestsInProgress")
            : null;
        if (hit is not { } bound)
        {
            return null;
        }

        CoapMetrics.RequestsRefused.Add(1, new KeyValuePair<string, object?>("bound", bound.Bound));
        if (_reports.TryReport(_time.GetTimestamp(), _time, out long unreported))
        {
            _endpoint.LogRequestsInProgressBoundHit(peer, bound.InProgress, bound.Bound, bound.Key, unreported);
        }

        CoapMessage refusal = bound.Bound switch
        {
            "peer" => new CoapMessage { Code = CoapCode.TooManyRequests }.WithPayload($"at most {_maxPerPeer} requests of one client are handled at once"),
            "address" => new CoapMessage { Code = CoapCode.TooManyRequests }.WithPayload($"at most {_maxPerAddress} requests from one address are handled at once"),
            _ => new CoapMessage { Code = CoapCode.ServiceUnavailable }.WithPayload("the server is busy"),
        };
        return refusal.SetUInt(CoapOptionNumber.MaxAge, RetryAfterSeconds);
    }

    /// <summary>Counts a request of <paramref name="peer"/> in progress until the returned slot is released.</summary>
    public Slot Enter(EndPoint peer)
    {
        object address = BlockSource.AddressOf(peer);
        lock (_lock)
        {
            _perPeer[peer] = _perPeer.GetValueOrDefault(peer) + 1;
            _perAddress[address] = _perAddress.GetValueOrDefault(address) + 1;
            _total++;
        }

        return new Slot(this, peer, address);
    }

    private void Leave(EndPoint peer, object address)
    {
        lock (_lock)
        {
            Decrement(_perPeer, peer);
            Decrement(_perAddress, address);
            _total--;
        }
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> table, TKey key)
        where TKey : notnull
    {
        int current = table[key];
        if (current == 1)
        {
            table.Remove(key);
        }
        else
        {
            table[key] = current - 1;
        }
    }

    /// <summary>One request in progress; released once, when its handler has answered (a second release does nothing).</summary>
    public sealed class Slot(RequestsInProgress owner, EndPoint peer, object address)
    {
        private int _released;

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Leave(peer, address);
            }
        }
    }
}
