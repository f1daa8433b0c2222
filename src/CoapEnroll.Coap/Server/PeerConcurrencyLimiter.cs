using System.Net;

namespace CoapEnroll.Coap;

/// <summary>
/// Bounds work a handler starts on the peer's behalf and that outlives a quick answer (for example a request a proxy forwards
/// upstream): at most <see cref="MaxPerPeer"/> at once for one peer (a UDP address and port, or a DTLS session) and at most
/// <see cref="MaxTotal"/> for all peers together. A request over a bound is refused at once, never queued, so a peer that
/// sends many only has its own refused while the others keep their share.
/// </summary>
/// <remarks>The table holds only peers with work in flight, so it never has more than <see cref="MaxTotal"/> entries.</remarks>
public sealed class PeerConcurrencyLimiter
{
    private readonly Dictionary<EndPoint, int> _perPeer = [];
    private readonly Lock _lock = new();
    private int _total;

    /// <exception cref="ArgumentOutOfRangeException">A bound is below 1.</exception>
    public PeerConcurrencyLimiter(int maxTotal, int maxPerPeer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTotal, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerPeer, 1);
        MaxTotal = maxTotal;
        MaxPerPeer = maxPerPeer;
    }

    public int MaxTotal { get; }

    public int MaxPerPeer { get; }

    /// <summary>Work in flight for all peers together.</summary>
    public int Current
    {
        get
        {
            lock (_lock)
            {
                return _total;
            }
        }
    }

    /// <summary>
    /// Takes a slot for <paramref name="peer"/> when both bounds allow it. Dispose the lease when the work is done; a lease that
    /// was refused (<see cref="PeerConcurrencyLease.Status"/> not <see cref="PeerConcurrencyStatus.Acquired"/>) holds nothing.
    /// </summary>
    public PeerConcurrencyLease TryAcquire(EndPoint peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        lock (_lock)
        {
            _perPeer.TryGetValue(peer, out int current);
            if (current >= MaxPerPeer)
            {
                return new PeerConcurrencyLease(null, peer, PeerConcurrencyStatus.PeerLimit);
            }

            if (_total >= MaxTotal)
            {
                return new PeerConcurrencyLease(null, peer, PeerConcurrencyStatus.TotalLimit);
            }

            _perPeer[peer] = current + 1;
            _total++;
            return new PeerConcurrencyLease(this, peer, PeerConcurrencyStatus.Acquired);
        }
    }

    internal void Release(EndPoint peer)
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
