using System.Net;
using CoapEnroll.Transport;

namespace CoapEnroll.Coap;

/// <summary>
/// Counts the requests of each peer whose handler did not answer at once, and refuses a peer's next request while it has
/// <c>perPeer</c> of them, or all peers together <c>total</c>: without it a peer could queue thread-pool work (or separate
/// responses) as fast as it sends. The check and <see cref="Enter"/> both run on the endpoint's receive path, one request after
/// another, so a request is counted before the next one is checked; <see cref="Leave"/> comes from wherever the handler ends.
/// The table holds only peers with a request in progress, so it never has more than <c>total</c> entries, and a peer that
/// only gets answers at once costs one volatile read.
/// </summary>
internal sealed class RequestsInProgress
{
    // How long a refused client is asked to wait (Max-Age of the 4.29 or 5.03), in seconds.
    private const uint RetryAfterSeconds = 1;

    private readonly Dictionary<EndPoint, int> _perPeer = [];
    private readonly Lock _lock = new();
    private readonly int _maxPerPeer;
    private readonly int _maxTotal;
    private readonly TimeProvider _time;
    private readonly CoapEndpoint _endpoint;
    private readonly ReportThrottle _reports = new(CoapEndpoint.BoundReportInterval);
    private int _total;

    public RequestsInProgress(int maxPerPeer, int maxTotal, TimeProvider time, CoapEndpoint endpoint)
    {
        _maxPerPeer = maxPerPeer;
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

        int ofPeer;
        int total;
        lock (_lock)
        {
            _perPeer.TryGetValue(peer, out ofPeer);
            total = _total;
        }

        bool peerBound = ofPeer >= _maxPerPeer;
        if (!peerBound && total < _maxTotal)
        {
            return null;
        }

        CoapMetrics.RequestsRefused.Add(1, new KeyValuePair<string, object?>("bound", peerBound ? "peer" : "global"));
        if (_reports.TryReport(_time.GetTimestamp(), _time, out long unreported))
        {
            _endpoint.LogRequestsInProgressBoundHit(peer, peerBound ? ofPeer : total, peerBound ? "for that peer" : "for all peers",
                peerBound ? "Coap:Endpoint:MaxRequestsInProgressPerPeer" : "Coap:Endpoint:MaxRequestsInProgress", unreported);
        }

        CoapMessage refusal = peerBound
            ? new CoapMessage { Code = CoapCode.TooManyRequests }.WithPayload($"at most {_maxPerPeer} requests of one client are handled at once")
            : new CoapMessage { Code = CoapCode.ServiceUnavailable }.WithPayload("the server is busy");
        return refusal.SetUInt(CoapOptionNumber.MaxAge, RetryAfterSeconds);
    }

    public void Enter(EndPoint peer)
    {
        lock (_lock)
        {
            _perPeer.TryGetValue(peer, out int current);
            _perPeer[peer] = current + 1;
            _total++;
        }
    }

    public void Leave(EndPoint peer)
    {
        lock (_lock)
        {
            int current = _perPeer[peer];
            if (current == 1)
            {
                _perPeer.Remove(peer);
            }
            else
            {
                _perPeer[peer] = current - 1;
            }

            _total--;
        }
    }
}
